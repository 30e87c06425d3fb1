/**
 * The mechanic's view: connect as a demo mechanic (or with a pasted token),
 * see every offer with a live countdown to its `expires_at` on the server's
 * clock, accept or decline it, pause and resume. Messages are deduped as
 * README "Delivery: at least once" asks: by request id, and a request once
 * taken never comes back.
 */
import type { Offer, OffersMessage, ServerMessage } from '../lambdas/domain/messages';
import { devToken, subjectOf, wsUrl } from './api';
import { formatRemaining } from './clock';
import { field, h } from './dom';
import { LiveSocket } from './live-socket';

/** The sandbox's approved demo mechanics (sandbox/seed.ts); Dave is pending, so his handshake would be refused. */
const DEMO_MECHANICS = ['mech-alice', 'mech-bob', 'mech-carol', 'mech-erin'];

type Shown = Omit<Offer, 'session_id'> & { readonly card: HTMLElement; readonly countdown: HTMLElement; readonly badge: HTMLElement };

export class MechanicView extends HTMLElement {
  private readonly select = h('select', { 'data-testid': 'mechanic-select' }, ...DEMO_MECHANICS.map((id) => h('option', { value: id }, id)));
  private readonly pasted = h('textarea', { rows: '2', placeholder: 'eyJhbGciOi…', 'data-testid': 'mechanic-token' });
  private readonly connection = h('p', { class: 'connection', 'data-testid': 'mechanic-connection' }, 'Not connected');
  private readonly availability = h('strong', { 'data-testid': 'mechanic-availability' }, 'unknown');
  private readonly result = h('p', { class: 'result', 'data-testid': 'mechanic-result' });
  private readonly list = h('ul', { class: 'cards', 'data-testid': 'mechanic-offers' });
  private readonly empty = h('p', { class: 'muted', 'data-testid': 'mechanic-no-offers' }, 'No offers right now.');
  private readonly offers = new Map<string, Shown>();
  /** Requests seen taken: a retried delivery of their offer may still arrive and must be ignored. */
  private readonly taken = new Set<string>();
  /** Offers shown before the latest (re)connect that nothing since has confirmed: the answer to its `sync` says which still stand. */
  private unconfirmed = new Set<string>();
  private socket: LiveSocket | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;

  connectedCallback(): void {
    const button = (label: string, testid: string, onclick: () => void, secondary = false) =>
      h('button', { type: 'button', 'data-testid': testid, onclick, ...(secondary ? { class: 'secondary' } : {}) }, label);
    this.replaceChildren(
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, 'Connect'),
        field('Demo mechanic', this.select),
        field('or paste a token', this.pasted),
        h(
          'div',
          { class: 'row' },
          button('Connect', 'mechanic-connect', () => this.connect()),
          button('Disconnect', 'mechanic-disconnect', () => this.disconnect(), true),
        ),
        this.connection,
        // Told by the answer to sync (after every connect) and to pause and resume.
        h('p', {}, 'Availability: ', this.availability),
        h(
          'div',
          { class: 'row' },
          button('Pause', 'mechanic-pause', () => this.socket?.send({ action: 'pause' }), true),
          button('Resume', 'mechanic-resume', () => this.socket?.send({ action: 'resume' }), true),
        ),
      ),
      h('section', { class: 'panel' }, h('h2', {}, 'Offers'), this.result, this.empty, this.list),
    );
    this.ticker = setInterval(() => this.renderCountdowns(), 1000);
  }

  disconnectedCallback(): void {
    clearInterval(this.ticker);
    this.socket?.close();
  }

  private connect(): void {
    this.disconnect();
    const pasted = this.pasted.value.trim();
    const who = pasted ? (subjectOf(pasted) ?? 'the pasted token') : this.select.value;
    this.socket = new LiveSocket({
      url: async () => wsUrl(pasted || (await devToken(who))),
      onMessage: (message) => this.onMessage(message),
      onState: (state, detail) => {
        this.connection.textContent = state === 'connected' ? `Connected as ${who}` : `${state}${detail ? `: ${detail}` : ''}`;
        this.connection.dataset.state = state;
        if (state === 'connected') this.unconfirmed = new Set(this.offers.keys());
      },
    });
  }

  private disconnect(): void {
    this.socket?.close();
    this.socket = undefined;
    for (const id of [...this.offers.keys()]) this.drop(id);
    this.taken.clear();
    this.result.textContent = '';
  }

  private onMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'priority_session_request':
        this.show({ ...message, kind: 'priority' });
        return;
      case 'new_request':
        this.show({ ...message, kind: 'open' });
        return;
      case 'offers':
        this.availability.textContent = message.paused ? 'Paused' : 'Available';
        for (const offer of message.offers) this.show(offer);
        this.dropUnlisted(message);
        return;
      case 'request_taken':
        this.taken.add(message.request_id);
        this.drop(message.request_id);
        if (message.by_you) this.result.textContent = `${message.request_id} is yours (accepted on another device)`;
        return;
      case 'accept_result':
        if (message.ok) {
          this.taken.add(message.request_id);
          this.drop(message.request_id);
          this.result.textContent = `Accepted: ${message.request_id} is yours`;
        } else {
          // Still in someone else's window: it may open to you later; any other refusal ends it for you.
          if (message.reason !== 'priority_window') this.drop(message.request_id);
          this.result.textContent = `Could not accept ${message.request_id}: ${message.reason}`;
        }
        return;
      case 'availability':
        this.availability.textContent = message.paused ? 'Paused' : 'Available';
        return;
      case 'error':
        this.result.textContent = `Error ${message.code}: ${message.message}`;
        return;
    }
  }

  /** Adds an offer or updates it (a favorite's lapsed window comes back as the open request). */
  private show(offer: Omit<Offer, 'session_id'>): void {
    this.unconfirmed.delete(offer.request_id);
    if (this.taken.has(offer.request_id)) return;
    const known = this.offers.get(offer.request_id);
    if (known) {
      this.offers.set(offer.request_id, { ...known, kind: offer.kind, expires_at: offer.expires_at });
      this.renderCountdowns();
      return;
    }
    const id = offer.request_id;
    const badge = h('span', { class: 'badge', 'data-testid': 'offer-kind' });
    const countdown = h('span', { class: 'countdown', 'data-testid': 'offer-countdown' });
    const vehicle = offer.vehicle ? `${offer.vehicle.make} ${offer.vehicle.model} ${offer.vehicle.year}` : 'vehicle not given';
    const card = h(
      'li',
      { class: 'card', 'data-testid': 'offer', 'data-request-id': id },
      badge,
      h('strong', {}, offer.concern),
      h('span', { class: 'muted' }, vehicle),
      h('code', {}, id),
      countdown,
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'button', 'data-testid': 'offer-accept', onclick: () => this.socket?.send({ action: 'accept', request_id: id }) }, 'Accept'),
        h('button', { type: 'button', class: 'secondary', 'data-testid': 'offer-decline', onclick: () => this.decline(id) }, 'Decline'),
      ),
    );
    this.list.append(card);
    this.offers.set(id, {
      request_id: id,
      kind: offer.kind,
      expires_at: offer.expires_at,
      concern: offer.concern,
      vehicle: offer.vehicle,
      card,
      countdown,
      badge,
    });
    this.renderCountdowns();
  }

  /**
   * An offer shown before this connection and missing from its `sync` answer was taken, cancelled or
   * expired while the socket was away (its `request_taken` went nowhere), so it goes. A truncated
   * answer leaves out only offers expiring after its last one: those may still stand.
   */
  private dropUnlisted(answer: OffersMessage): void {
    const lastListed = answer.offers.at(-1)?.expires_at ?? '';
    for (const id of this.unconfirmed) {
      const offer = this.offers.get(id);
      if (offer && (!answer.truncated || offer.expires_at <= lastListed)) this.drop(id);
    }
    this.unconfirmed.clear();
  }

  /** A declined request is never offered to this mechanic again (README "decline"), so it leaves the list now. */
  private decline(requestId: string): void {
    this.socket?.send({ action: 'decline', request_id: requestId });
    this.drop(requestId);
  }

  private drop(requestId: string): void {
    this.offers.get(requestId)?.card.remove();
    this.offers.delete(requestId);
    this.empty.hidden = this.offers.size > 0;
  }

  private renderCountdowns(): void {
    this.empty.hidden = this.offers.size > 0;
    for (const offer of this.offers.values()) {
      const left = this.socket ? this.socket.clock.remaining(offer.expires_at) : 0;
      offer.badge.textContent = offer.kind === 'priority' ? 'Priority: yours alone' : 'Open to everyone';
      offer.card.dataset.kind = offer.kind;
      offer.countdown.textContent = left > 0 ? `${formatRemaining(left)} left` : 'time is up';
    }
  }
}
