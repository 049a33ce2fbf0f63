// Package report renders the suite's results: the terminal table in the
// classic shape (Server | RPS | Mean | Mode | Worst | p99 | % NGINX), the
// same as Markdown, the raw results as JSON, and a chart of requests per
// second and p99 latency per server. It reads results and writes files;
// it runs nothing.
package report
