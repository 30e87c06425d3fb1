/**
 * The customer's view: book (plan, concern, vehicle, favorites in order,
 * priority or not) with `POST /intake/start`, then watch each booking live
 * through the customer's WebSocket (`session_status`, and `sessions` after a
 * (re)connect), complete a paid booking's checkout with
 * `POST /sessions/{id}/checkout/complete`, and cancel with
 * `POST /sessions/{id}/cancel`. It connects as the customer id as soon as it
 * opens and whenever the id changes; the tab remembers the id, so a reload
 * lists the bookings again from `sync`.
 */
import type { CustomerStatus } from '../lambdas/domain/customer';
import type { ServerMessage } from '../lambdas/domain/messages';
import { call, devToken, issuesDevTokens, needsPastedToken, subjectOf, wsUrl } from './api';
import { LiveSocket } from './live-socket';
import { field, h } from './dom';
import { customerStatusText, isFinal } from './status-text';

interface Booking {
  status: CustomerStatus;
  /** The favorites this page booked with, in order (none for a booking learnt from `sync`). */
  favorites: readonly string[];
  readonly text: HTMLElement;
  readonly checkout: HTMLButtonElement;
  readonly cancel: HTMLButtonElement;
}

/** The customer this view is connected as. */
interface Customer {
  /** Whom the socket is for: the pasted token, else the customer id. */
  readonly key: string;
  readonly socket: LiveSocket;
  /** Settles once connected, or given up on after 10 s (a booking then goes ahead; its status comes with the next connect's `sync`). */
  readonly connected: Promise<void>;
  /** The latest token the socket got: the HTTP calls use it too. */
  token(): string | undefined;
}

/** Where the tab keeps the customer id across reloads (sessionStorage: one tab, one person, as with the views). */
const CUSTOMER_ID_KEY = 'priority-dispatch.customer-id';

export class CustomerView extends HTMLElement {
  private readonly customerId = h('input', {
    value: sessionStorage.getItem(CUSTOMER_ID_KEY) ?? 'customer-demo',
    'data-testid': 'customer-id',
    required: true,
    onchange: () => this.reconnect(),
  });
  private readonly pasted = h('textarea', { rows: '2', placeholder: 'eyJhbGciOi…', 'data-testid': 'customer-token', onchange: () => this.reconnect() });
  private readonly plan = h(
    'select',
    { 'data-testid': 'customer-plan' },
    ...['free', 'trial', 'credit', 'paid'].map((plan) => h('option', { value: plan }, plan)),
  );
  private readonly concern = h('input', { value: 'Brakes squeal', 'data-testid': 'customer-concern', required: true });
  private readonly make = h('input', { placeholder: 'Toyota', 'data-testid': 'customer-make' });
  private readonly model = h('input', { placeholder: 'Corolla', 'data-testid': 'customer-model' });
  private readonly year = h('input', { placeholder: '2019', inputmode: 'numeric', 'data-testid': 'customer-year' });
  private readonly favorites = [1, 2, 3].map((n) => h('input', { placeholder: `mech-… (${n})`, 'data-testid': `customer-favorite-${n}` }));
  private readonly priority = h('input', { type: 'checkbox', checked: true, 'data-testid': 'customer-priority' });
  private readonly connection = h('p', { class: 'connection', 'data-testid': 'customer-connection' }, 'Not connected');
  private readonly error = h('p', { class: 'error', 'data-testid': 'customer-error' });
  private readonly list = h('ul', { class: 'cards', 'data-testid': 'customer-bookings' });
  private readonly bookings = new Map<string, Booking>();
  private customer: Customer | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;

  connectedCallback(): void {
    const form = h(
      'form',
      {
        class: 'panel',
        onsubmit: (event) => {
          event.preventDefault();
          void this.book();
        },
      },
      h('h2', {}, 'Book a session'),
      field('Customer id', this.customerId),
      field('or paste a token', this.pasted),
      field('Plan', this.plan),
      field('Concern', this.concern),
      h('fieldset', {}, h('legend', {}, 'Vehicle (optional)'), field('Make', this.make), field('Model', this.model), field('Year', this.year)),
      h('fieldset', {}, h('legend', {}, 'Favorite mechanics, in order'), ...this.favorites.map((input, i) => field(`Favorite ${i + 1}`, input))),
      h('label', { class: 'check' }, this.priority, h('span', {}, 'Priority: offer it to my favorites first')),
      h('button', { type: 'submit', 'data-testid': 'customer-book' }, 'Book'),
      this.error,
    );
    this.replaceChildren(form, h('section', { class: 'panel' }, h('h2', {}, 'My bookings'), this.connection, this.list));
    this.ticker = setInterval(() => this.renderAll(), 1000);
    this.reconnect();
  }

  disconnectedCallback(): void {
    clearInterval(this.ticker);
    this.customer?.socket.close();
  }

  private async book(): Promise<void> {
    this.error.textContent = '';
    const favorites = this.favorites.map((input) => input.value.trim()).filter(Boolean);
    try {
      await this.connect(this.customerId.value.trim(), this.pasted.value.trim());
      const vehicle = { make: this.make.value.trim(), model: this.model.value.trim(), year: Number(this.year.value) };
      const answer = await call<{ session_id: string; status: string }>(
        'POST',
        '/intake/start',
        {
          plan: this.plan.value,
          concern: this.concern.value,
          ...(vehicle.make && vehicle.model && vehicle.year ? { vehicle } : {}),
          ...(favorites.length ? { preferred_mechanic_ids: favorites } : {}),
          routing_type: this.priority.checked ? 'priority_broadcast' : 'broadcast',
        },
        this.customer?.token(),
      );
      // Its first status may have come over the socket before this answer: then that one stays.
      const booking =
        this.bookings.get(answer.session_id) ??
        this.upsert({ session_id: answer.session_id, state: answer.status === 'awaiting_checkout' ? 'awaiting_checkout' : 'routing' }, 'first');
      booking.favorites = favorites;
      this.render(answer.session_id);
    } catch (error) {
      this.error.textContent = (error as Error).message;
    }
  }

  /** Connects as whom the form names now (the pasted token, else the id), when that changed. */
  private reconnect(): void {
    const id = this.customerId.value.trim();
    const pasted = this.pasted.value.trim();
    if (id || pasted)
      this.connect(id, pasted).catch((error: Error) => {
        this.connection.textContent = error.message;
      });
  }

  /**
   * One socket per customer (a pasted token's, else a dev token's for the id): booking as someone else
   * reconnects as them, and their list comes from `sync`.
   */
  private connect(id: string, pasted: string): Promise<void> {
    if (!pasted && !issuesDevTokens) return needsPastedToken();
    const key = pasted || id;
    if (this.customer?.key === key) return this.customer.connected;
    this.customer?.socket.close();
    this.bookings.clear();
    this.list.replaceChildren();
    if (!pasted) sessionStorage.setItem(CUSTOMER_ID_KEY, id);
    const sub = pasted ? (subjectOf(pasted) ?? 'the pasted token') : id;
    let token: string | undefined;
    let settle = (): void => undefined;
    const connected = new Promise<void>((resolve) => {
      settle = resolve;
      setTimeout(resolve, 10_000);
    });
    const socket = new LiveSocket({
      // A fresh dev token for each (re)connect (a pasted one as it is).
      url: async () => {
        token = pasted || (await devToken(sub));
        return wsUrl(token, 'customer');
      },
      onMessage: (message) => this.onMessage(message),
      onState: (state, detail) => {
        this.connection.textContent = state === 'connected' ? `Connected as ${sub}` : `${state}${detail ? `: ${detail}` : ''}`;
        this.connection.dataset.state = state;
        if (state === 'connected') settle();
      },
    });
    this.customer = { key, socket, connected, token: () => token };
    return connected;
  }

  private onMessage(message: ServerMessage): void {
    if (message.type === 'session_status') {
      const { type: _type, ...status } = message;
      this.upsert(status, 'first');
      this.render(status.session_id);
    } else if (message.type === 'sessions') {
      for (const status of message.sessions) {
        this.upsert(status, 'last');
        this.render(status.session_id);
      }
    }
  }

  /** Records a status (new bookings go `first` or `last` in the list); a late duplicate never revives an ended booking. */
  private upsert(status: CustomerStatus, position: 'first' | 'last'): Booking {
    const known = this.bookings.get(status.session_id);
    if (known) {
      if (!isFinal(known.status.state)) known.status = status;
      return known;
    }
    const text = h('span', { class: 'status', 'data-testid': 'booking-status' });
    const checkout = h(
      'button',
      { type: 'button', 'data-testid': 'booking-checkout', onclick: () => void this.completeCheckout(status.session_id) },
      'Complete checkout',
    );
    const cancel = h(
      'button',
      { type: 'button', class: 'secondary', 'data-testid': 'booking-cancel', onclick: () => void this.cancel(status.session_id) },
      'Cancel',
    );
    const card = h(
      'li',
      { class: 'card', 'data-testid': 'booking', 'data-session-id': status.session_id },
      h('code', {}, status.session_id),
      text,
      h('div', { class: 'row' }, checkout, cancel),
    );
    if (position === 'first') this.list.prepend(card);
    else this.list.append(card);
    const booking: Booking = { status, favorites: [], text, checkout, cancel };
    this.bookings.set(status.session_id, booking);
    return booking;
  }

  /**
   * What a payment provider's webhook calls once a paid booking is paid; here the customer stands in
   * for it. Routing follows: until its first live status, the booking reads "Finding a mechanic…".
   */
  private async completeCheckout(sessionId: string): Promise<void> {
    this.error.textContent = '';
    try {
      await call('POST', `/sessions/${encodeURIComponent(sessionId)}/checkout/complete`, undefined, this.customer?.token());
      const booking = this.bookings.get(sessionId);
      if (booking?.status.state === 'awaiting_checkout') {
        booking.status = { session_id: sessionId, state: 'routing' };
        this.render(sessionId);
      }
    } catch (error) {
      this.error.textContent = (error as Error).message;
    }
  }

  private async cancel(sessionId: string): Promise<void> {
    this.error.textContent = '';
    try {
      await call('POST', `/sessions/${encodeURIComponent(sessionId)}/cancel`, undefined, this.customer?.token());
    } catch (error) {
      this.error.textContent = (error as Error).message;
    }
  }

  private renderAll(): void {
    for (const sessionId of this.bookings.keys()) this.render(sessionId);
  }

  private render(sessionId: string): void {
    const booking = this.bookings.get(sessionId)!;
    const { status } = booking;
    const clock = this.customer?.socket.clock;
    const remaining = status.expires_at && clock ? clock.remaining(status.expires_at) : undefined;
    booking.text.textContent = customerStatusText(status, booking.favorites, remaining);
    booking.text.dataset.state = status.state;
    booking.checkout.hidden = status.state !== 'awaiting_checkout';
    booking.cancel.hidden = isFinal(status.state);
  }
}
