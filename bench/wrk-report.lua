-- Loaded with `wrk -s`: prints one JSON line after the run, so run.sh reads
-- figures without scraping wrk's human-readable output. Latencies are in
-- microseconds. `non2xx` counts answers outside 200-399 (wrk's "status"
-- errors); any of them, or a socket error, makes a measurement invalid.
-- With WRK_FORM_BODY set (loadtest.py rate --form), every request is a POST
-- of that form-encoded body (introspection).
local form = os.getenv("WRK_FORM_BODY")
if form then
  wrk.method = "POST"
  wrk.body = form
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"non2xx":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
