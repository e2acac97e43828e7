// The page's service worker: after one visit the page works with the network off.
//
// Every same-origin GET goes to the network first, so a new build shows at once, and a copy
// of each answer is kept; when the network fails, the kept copy answers. On its first visit
// the page sends the list of its own files (the HTML, the hashed JS and wasm, the weights it
// may fetch): they are cached together, and files of earlier builds are dropped.
const CACHE = "timnet-page";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  const urls = event.data && event.data.cache;
  if (!Array.isArray(urls)) return;
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(urls);
      const wanted = new Set(urls.map((u) => new URL(u, self.location).href));
      for (const request of await cache.keys()) {
        if (!wanted.has(request.url)) await cache.delete(request);
      }
      reply(event, { cached: urls.length });
    })().catch((error) => reply(event, { error: String(error) })),
  );
});

// The answer goes back on the channel the page sent along.
function reply(event, message) {
  (event.ports[0] || event.source).postMessage(message);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    fetch(request).catch(async () => {
      const kept = await caches.match(request, { ignoreSearch: true });
      return kept || Response.error();
    }),
  );
});
