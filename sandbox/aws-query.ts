/**
 * AWS's query protocol (awsQuery), which AWS CLI v2 still speaks to
 * CloudWatch: a form-encoded POST (`Action=GetMetricData&Version=…&
 * MetricDataQueries.member.1.Id=m1…`) answered in XML. This reads the form
 * into the same shape a JSON-protocol body has and writes answers and errors
 * back as XML, so one implementation of an operation serves both protocols.
 * https://smithy.io/2.0/aws/protocols/aws-query-protocol.html
 */

/** How a scalar member is typed, by member name: everything else stays a string, as the form sent it. */
export type QueryScalars = Readonly<Record<string, 'number' | 'boolean' | 'timestamp'>>;

/**
 * The form as a JSON-protocol body: `a.member.N.b` becomes `a[N-1].b`; listed members are typed (timestamps
 * become epoch seconds, as awsJson sends them). `Action` and `Version` are returned apart.
 */
export function parseQueryForm(body: string, scalars: QueryScalars): { action: string; input: Record<string, unknown> } {
  const input: Record<string, unknown> = {};
  let action = '';
  for (const [key, raw] of new URLSearchParams(body)) {
    if (key === 'Action') action = raw;
    if (key === 'Action' || key === 'Version') continue;
    const steps = pathOf(key);
    // No operation has such members; writing them would reach Object.prototype.
    if (steps.some((step) => step === '__proto__' || step === 'constructor' || step === 'prototype')) continue;
    let node: Record<string | number, unknown> = input;
    for (const [index, step] of steps.entries()) {
      const last = index === steps.length - 1;
      if (last) {
        node[step] = typed(raw, scalars[String(step)]);
        break;
      }
      node[step] ??= typeof steps[index + 1] === 'number' ? [] : {};
      node = node[step] as Record<string | number, unknown>;
    }
  }
  return { action, input };
}

/** `a.member.2.b` → `['a', 1, 'b']`: a list's members are numbered from 1. */
function pathOf(key: string): (string | number)[] {
  const segments = key.split('.');
  const steps: (string | number)[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const next = segments[i + 1];
    if (segment === 'member' && next !== undefined && /^\d+$/.test(next)) steps.push(Number(segments[++i]) - 1);
    else steps.push(segment);
  }
  return steps;
}

function typed(raw: string, type: QueryScalars[string] | undefined): unknown {
  switch (type) {
    case 'number':
      return raw.trim() === '' ? raw : Number(raw);
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'timestamp': {
      const ms = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw);
      return Number.isNaN(ms) ? raw : ms / 1000;
    }
    default:
      return raw;
  }
}

/** `<ActionResponse xmlns=…><ActionResult>…</ActionResult><ResponseMetadata>…</ResponseMetadata></ActionResponse>`. */
export function queryResponse(action: string, xmlNamespace: string, result: unknown, requestId: string): string {
  return (
    `<${action}Response xmlns="${xmlNamespace}">` +
    element(`${action}Result`, result) +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>` +
    `</${action}Response>`
  );
}

/** The error document a query-protocol client reads its exception from: `Sender` for the caller's errors. */
export function queryError(xmlNamespace: string, error: { status: number; type: string; message: string }, requestId: string): string {
  return (
    `<ErrorResponse xmlns="${xmlNamespace}">` +
    `<Error><Type>${error.status < 500 ? 'Sender' : 'Receiver'}</Type><Code>${xmlText(error.type)}</Code><Message>${xmlText(error.message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId>` +
    `</ErrorResponse>`
  );
}

/** Lists as `<member>` elements, timestamps (Date) in ISO 8601, absent members left out. */
function element(name: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return `<${name}>${value.map((item) => element('member', item)).join('')}</${name}>`;
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (typeof value === 'object')
    return `<${name}>${Object.entries(value)
      .map(([key, member]) => element(key, member))
      .join('')}</${name}>`;
  return `<${name}>${xmlText(String(value))}</${name}>`;
}

const xmlText = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
