// The peer for the load benchmark: a Worker evaluating equivalent flags with
// LaunchDarkly's Cloudflare SDK, reading them from the same kind of local KV.
// The client is created once per isolate (the SDK's own example creates it per
// request, which would be slower): the peer gets its best case.
import { init } from '@launchdarkly/cloudflare-server-sdk';

let client;

async function ld(env) {
  if (!client) {
    client = init('bench-sdk-key', env.LD_KV);
    await client.waitForInitialization();
  }
  return client;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const { flag, context } = await request.json();
    const ldClient = await ld(env);
    if (url.pathname === '/all') {
      const state = await ldClient.allFlagsState(context);
      return Response.json(state.toJSON());
    }
    const detail = await ldClient.variationDetail(flag, context, false);
    return Response.json({ key: flag, value: detail.value, variant: detail.variationIndex, reason: detail.reason });
  },
};
