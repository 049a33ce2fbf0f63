package baselines

// The few statuses the baselines send, and the Date format. They are
// spelled out here instead of taken from net/http so that the baselines'
// binary does not link net/http: a process design starts that binary for
// every child, and net/http (with crypto/tls behind it) would make each
// start heavier than the design itself needs.
const (
	statusContinue                    = 100
	statusOK                          = 200
	statusBadRequest                  = 400
	statusRequestHeaderFieldsTooLarge = 431
	statusNotImplemented              = 501
	statusHTTPVersionNotSupported     = 505

	methodHead = "HEAD"
	timeFormat = "Mon, 02 Jan 2006 15:04:05 GMT" // net/http.TimeFormat
)

// statusText is the reason phrase of the statuses above, as net/http's
// StatusText gives it.
func statusText(code int) string {
	switch code {
	case statusContinue:
		return "Continue"
	case statusOK:
		return "OK"
	case statusBadRequest:
		return "Bad Request"
	case statusRequestHeaderFieldsTooLarge:
		return "Request Header Fields Too Large"
	case statusNotImplemented:
		return "Not Implemented"
	case statusHTTPVersionNotSupported:
		return "HTTP Version Not Supported"
	}
	return ""
}
