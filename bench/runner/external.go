package runner

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/carhop/carhop/bench/peers"
)

// External servers run from Debian's packages with configuration written
// into the server's temporary directory; each does the same thing as
// bench/peers.Hello, /big included.

// nginxMain is the configuration both NGINX roles share; %[1]s is the
// server's temporary directory and %[2]s its http-level body.
const nginxMain = `worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 20000; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	keepalive_requests 1000000;
%[2]s
}
`

// Both NGINX roles listen with backlog=4096. NGINX's own default on Linux
// is 511, where Go's listeners (and so every Go server
// here) take net.core.somaxconn, 4096 on current kernels: with 1,000
// clients connecting at once, NGINX's queue overflowed, the kernel dropped
// their SYNs and the clients retried a second later, so NGINX lost part of
// each c1000 run to connection setup. The kernel caps it at somaxconn.

// nginxHello answers like bench/peers.Hello; %[1]s is the listen address
// and %[2]s the server's temporary directory, where writeBig puts /big.
const nginxHello = `	server {
		listen %[1]s backlog=4096;
		location / {
			default_type text/plain;
			return 200 "Hello, World!";
		}
		location = /big {
			default_type text/plain;
			root %[2]s;
		}
	}`

// wsgiApp is the WSGI form; %d is bench/peers.BigSize.
const wsgiApp = `HELLO = b"Hello, World!"
BIG = b"x" * %d


def app(environ, start_response):
    body = BIG if environ["PATH_INFO"] == "/big" else HELLO
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`

// debianPython is Debian's interpreter, where python3-waitress and gunicorn
// install; a pyenv python3 on PATH would not see them.
const debianPython = "/usr/bin/python3"

func externalServers() []Server {
	return []Server{
		{Name: "nginx", Kind: "external", Missing: missingBinary("nginx", "apt-get install -y nginx-light"),
			Command: func(addr, dir string) (*exec.Cmd, error) {
				// NGINX's workers drop root for nobody: they must be able
				// to read /big out of the private temporary directory.
				if err := os.WriteFile(filepath.Join(dir, "big"), peers.Big, 0o644); err != nil {
					return nil, err
				}
				if err := os.Chmod(dir, 0o755); err != nil {
					return nil, err
				}
				conf := filepath.Join(dir, "nginx.conf")
				if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxMain, dir, fmt.Sprintf(nginxHello, addr, dir))), 0o600); err != nil {
					return nil, err
				}
				return exec.Command(nginxPath(), "-c", conf, "-p", dir, "-e", "stderr"), nil
			}},
		{Name: "waitress", Kind: "external", Missing: missingModule("waitress", "apt-get install -y python3-waitress"),
			Command: func(addr, dir string) (*exec.Cmd, error) {
				if err := writeApp(dir); err != nil {
					return nil, err
				}
				cmd := exec.Command(debianPython, "-m", "waitress", "--listen="+addr, "--threads=4", "app:app")
				cmd.Dir = dir
				return cmd, nil
			}},
		gunicorn("gunicorn-sync", "sync", "apt-get install -y gunicorn"),
		gunicorn("gunicorn-gevent", "gevent", "apt-get install -y gunicorn python3-gevent"),
	}
}

func gunicorn(name, worker, install string) Server {
	missing := missingModule("gunicorn", install)
	if missing == "" && worker == "gevent" {
		missing = missingModule("gevent", install)
	}
	return Server{Name: name, Kind: "external", Missing: missing,
		Command: func(addr, dir string) (*exec.Cmd, error) {
			if err := writeApp(dir); err != nil {
				return nil, err
			}
			cmd := exec.Command(debianPython, "-m", "gunicorn", "-w", "1", "-k", worker, "-b", addr,
				"--worker-connections", "2000", "--log-level", "warning", "app:app")
			cmd.Dir = dir
			return cmd, nil
		}}
}

func writeApp(dir string) error {
	return os.WriteFile(filepath.Join(dir, "app.py"), fmt.Appendf(nil, wsgiApp, peers.BigSize), 0o600)
}

func nginxPath() string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	return "/usr/sbin/nginx"
}

func missingBinary(name, install string) string {
	if _, err := exec.LookPath(name); err == nil {
		return ""
	}
	if _, err := os.Stat("/usr/sbin/" + name); err == nil {
		return ""
	}
	return name + " not installed: " + install
}

func missingModule(module, install string) string {
	if err := exec.Command(debianPython, "-c", "import "+module).Run(); err != nil {
		return strings.TrimSpace("python module " + module + " not installed: " + install)
	}
	return ""
}

// nginxProxyConf proxies to an upstream (%[1]s) from a listen address
// (%[2]s), keeping connections to the upstream alive; %[3]s is on or off.
const nginxProxyConf = `	upstream app {
		server %[1]s;
		keepalive 128;
	}
	server {
		listen %[2]s backlog=4096;
		location / {
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_buffering %[3]s;
		}
	}`

// nginxProxy is NGINX as a reverse proxy in front of upstream, with
// keep-alive connections to it, buffering responses or not.
func nginxProxy(upstream string, buffering bool) Server {
	onOff := "off"
	if buffering {
		onOff = "on"
	}
	return Server{Name: "nginx-proxy", Kind: "external", Command: func(addr, dir string) (*exec.Cmd, error) {
		conf := filepath.Join(dir, "nginx.conf")
		body := fmt.Sprintf(nginxProxyConf, upstream, addr, onOff)
		if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxMain, dir, body)), 0o600); err != nil {
			return nil, err
		}
		return exec.Command(nginxPath(), "-c", conf, "-p", dir, "-e", "stderr"), nil
	}}
}
