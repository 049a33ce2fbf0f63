// Package runner runs the benchmark suite: it starts each server as a
// separate process pinned to its own CPU, waits until it answers, warms it
// up, drives the scenarios with the built-in load generator (bench/load)
// from another CPU, repeats each measurement, and stops everything it
// started, even when interrupted.
//
// Servers come from three places: carhop and its Go peers (bench/peers)
// and the naive designs (bench/baselines), all run by re-executing the
// bench binary in server mode; and external servers (NGINX, Waitress,
// Gunicorn) when they are installed, each configured from files the runner
// writes into a temporary directory. The runner never touches a system
// service.
//
// Rendering the results is bench/report's job.
package runner
