/**
 * The web console: one page, a view per role chosen by the URL's hash
 * (`#customer`, `#mechanic`, `#ops`), so each browser tab can be someone else.
 * Standard web components, no framework; esbuild bundles it (lib/console-bundle.ts).
 */
import { config } from './api';
import { CustomerView } from './customer-view';
import { h } from './dom';
import { MechanicView } from './mechanic-view';
import { MetricsChart } from './metrics-chart';
import { OpsMechanics } from './ops-mechanics';
import { OpsPending } from './ops-pending';
import { OpsSettings } from './ops-settings';
import { OpsView } from './ops-view';

declare global {
  interface HTMLElementTagNameMap {
    'pd-customer': CustomerView;
    'pd-mechanic': MechanicView;
    'pd-ops': OpsView;
    'pd-ops-settings': OpsSettings;
    'pd-ops-mechanics': OpsMechanics;
    'pd-ops-pending': OpsPending;
    'pd-metrics-chart': MetricsChart;
  }
}

customElements.define('pd-customer', CustomerView);
customElements.define('pd-mechanic', MechanicView);
customElements.define('pd-ops', OpsView);
// The ops view's panels.
customElements.define('pd-ops-settings', OpsSettings);
customElements.define('pd-ops-mechanics', OpsMechanics);
customElements.define('pd-ops-pending', OpsPending);
customElements.define('pd-metrics-chart', MetricsChart);

const VIEWS = { customer: 'pd-customer', mechanic: 'pd-mechanic', ops: 'pd-ops' } as const;
type View = keyof typeof VIEWS;

const main = document.querySelector('main')!;
const nav = document.querySelector('nav')!;

function route(): void {
  const wanted = location.hash.slice(1);
  const view: View = Object.hasOwn(VIEWS, wanted) ? (wanted as View) : 'customer';
  for (const link of nav.querySelectorAll('a')) link.toggleAttribute('aria-current', link.hash === `#${view}`);
  if (main.firstElementChild?.localName !== VIEWS[view]) main.replaceChildren(view === 'ops' && config.mode === 'aws' ? opsNeedsCredentials() : h(VIEWS[view]));
}

/**
 * The ops view signs AWS calls with the sandbox's operator key. A deployed console has no key to sign
 * with, and a page is no place for an operator's credentials (any script it runs could read them), so
 * it sends ops to the CLI, which signs with their own.
 */
function opsNeedsCredentials(): HTMLElement {
  const cli = `npx priority-dispatch flag status --stage ${config.stage} --region ${config.aws.region}`;
  return h(
    'section',
    { class: 'panel', 'data-testid': 'ops-needs-credentials' },
    h('h2', {}, 'Ops'),
    h('p', {}, 'The ops view needs AWS credentials, which this deployed console does not have. Use the ops CLI with yours:'),
    h('pre', {}, h('code', {}, cli)),
    h('p', { class: 'muted' }, 'It flips the flag, lists requests and dead letters, and tails the logs (README "Ops CLI").'),
  );
}

window.addEventListener('hashchange', route);
route();
