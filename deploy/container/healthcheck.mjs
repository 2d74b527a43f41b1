// The image's HEALTHCHECK: GET $CMS_EVENTS_HEALTH_URL (default http://127.0.0.1:8080/healthz)
// with node's own fetch; exit 0 on a 2xx answer, 1 otherwise (no answer within 4 s included).
const url = process.env.CMS_EVENTS_HEALTH_URL || 'http://127.0.0.1:8080/healthz';
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(4000) });
  await response.arrayBuffer();
  if (!response.ok) {
    console.error(`${url}: HTTP ${response.status}`);
    process.exit(1);
  }
} catch (error) {
  console.error(`${url}: ${error?.cause?.code ?? error?.message ?? error}`);
  process.exit(1);
}
