// A small client for the reference service's HTTP API (examples/service).
// Every answer is JSON; every refusal is {code, message, blockers?}, thrown
// here as an Error carrying that code, the way the package itself throws.

// Who calls: with `token`, every call carries it as `Authorization: Bearer`
// (a product's page holds its signed-in person's token). Without one, the
// page is the demo console against a service started with
// --insecure-trust-actor-header: each call names its actor in the
// x-offboard-actor header, the person the page acts as for their commands
// and a demo support operator for everything else (the account list, the
// imports, the clock, the status reads).
const demoOperator = { id: 'u_demo_support', role: 'support_operator', reauthenticated_at: null };

export function connect(base, { token } = {}) {
  const root = base.replace(/\/+$/, '');

  async function call(method, path, { body, actor, version } = {}) {
    // Every write says it is JSON (the service refuses other writes, so no
    // other site's page can send it a "simple" cross-site POST).
    const writes = method !== 'GET';
    const headers = writes ? { 'content-type': 'application/json' } : {};
    if (writes && body === undefined) body = {};
    // A command decided on a closure names its version (the ETag the
    // service answered), so it can never act on a newer closure.
    if (version !== undefined) headers['if-match'] = `"${version}"`;
    if (token) headers.authorization = `Bearer ${token}`;
    else headers['x-offboard-actor'] = JSON.stringify(actor ?? demoOperator);
    let response;
    try {
      response = await fetch(root + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw Object.assign(new Error(`The service at ${root} does not answer (${err.message}).`), { code: 'service_unreachable' });
    }
    const text = await response.text();
    let value = null;
    try {
      value = text ? JSON.parse(text) : null;
    } catch {
      throw Object.assign(new Error(`The service answered ${response.status} with something that is not JSON.`), { code: 'bad_answer' });
    }
    if (!response.ok) {
      throw Object.assign(new Error(value?.message ?? `HTTP ${response.status}`), {
        code: value?.code ?? `http_${response.status}`,
        status: response.status,
        blockers: value?.blockers,
      });
    }
    return value;
  }

  const account = (id) => `/v1/accounts/${encodeURIComponent(id)}`;
  const ops = (id) => `/v1/ops/accounts/${encodeURIComponent(id)}`;

  return {
    base: root,
    // The first thousand accounts (the list is paged: `next` is the cursor
    // of the following page).
    accounts: async () => (await call('GET', '/v1/accounts?limit=1000')).items,
    policy: () => call('GET', '/v1/policy'),
    clock: () => call('GET', '/v1/ops/clock'),
    advanceClock: (seconds) => call('POST', '/v1/ops/clock', { body: { advance_seconds: seconds } }),
    snapshot: (id) => call('GET', ops(id)),
    importAccount: (id, snapshot) => call('PUT', ops(id), { body: snapshot }),
    assessment: (id, actor) => call('GET', `${account(id)}/assessment`, { actor }),
    // The closure of an account, or null when it has none.
    closure: (id) => call('GET', `${account(id)}/closure`).catch((err) => {
      if (err.code === 'no_closure') return null;
      throw err;
    }),
    request: (id, actor, feedback) => call('POST', `${account(id)}/closure`, { actor, body: { feedback } }),
    confirm: (id, actor, value, version) => call('POST', `${account(id)}/closure/confirm`, { actor, version, body: { value } }),
    cancel: (id, actor, version) => call('POST', `${account(id)}/closure/cancel`, { actor, version, body: {} }),
    audit: (id) => call('GET', `${account(id)}/closure/audit`),
  };
}
