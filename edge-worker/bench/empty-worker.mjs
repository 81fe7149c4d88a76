// The ceiling for the load benchmark: an empty Worker on the same workerd that does
// what any Worker answering OFREP must do and nothing else. It reads the request's
// SDK key, parses the same JSON body, and answers a fixed OFREP-shaped JSON: one
// evaluation on `/ofrep/v1/evaluate/flags/{key}`, and on `/ofrep/v1/evaluate/flags`
// a fixed bulk answer of 100 flags, serialized once per isolate. It is JavaScript,
// not Rust: a Rust Worker would add its own boundary and glue, which is part of what
// the ratio is meant to show, so the JavaScript Worker is the runtime's true ceiling.
const PREFIX = '/ofrep/v1/evaluate/flags';
const flag = (key) => ({
  key, value: true, reason: 'TARGETING_MATCH', variant: 'on', metadata: { flagVersion: 1 },
});
const bulk = JSON.stringify({
  flags: Array.from({ length: 100 }, (_, i) => flag(`flag-${String(i).padStart(5, '0')}`)),
  metadata: { environment: 'bench', snapshotVersion: 1 },
});

export default {
  async fetch(request) {
    const key = request.headers.get('authorization');
    const { context } = await request.json();
    if (!key || typeof context !== 'object') return new Response('no', { status: 400 });
    const { pathname } = new URL(request.url);
    if (pathname === PREFIX) {
      return new Response(bulk, { headers: { 'content-type': 'application/json' } });
    }
    return Response.json(flag(pathname.slice(PREFIX.length + 1)));
  },
};
