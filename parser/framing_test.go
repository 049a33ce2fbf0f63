package parser

import (
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseContentLength(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"00012", 12, true},
		{"1048576", 1 << 20, true},
		{strconv.FormatInt(math.MaxInt64, 10), math.MaxInt64, true},
		{"9223372036854775808", 0, false},
		{"99999999999999999999", 0, false},
		{"", 0, false},
		{"+1", 0, false},
		{"-1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1,1", 0, false},
		{"0x10", 0, false},
		{"1e3", 0, false},
		{"١", 0, false}, // Arabic-Indic digit one: a digit to Unicode, not to HTTP
	}
	for _, tt := range tests {
		got, ok := ParseContentLength([]byte(tt.in))
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

func TestTransferCodings(t *testing.T) {
	tests := []struct {
		name   string
		fields []string
		addErr error
		check  error
	}{
		{"chunked", []string{"chunked"}, nil, nil},
		{"case-insensitive", []string{"ChUnKeD"}, nil, nil},
		{"list with OWS", []string{"gzip ,\tchunked"}, nil, ErrUnsupportedCoding},
		{"chunked not last", []string{"chunked", "gzip"}, nil, ErrUnsupportedCoding},
		{"parameters on another coding", []string{"gzip;level=1, chunked"}, nil, ErrUnsupportedCoding},
		{"chunked twice across fields", []string{"chunked", "chunked"}, ErrTransferEncoding, nil},
		{"parameters on chunked", []string{"chunked; a=b"}, ErrTransferEncoding, nil},
		{"empty value", []string{""}, ErrTransferEncoding, nil},
		{"trailing comma", []string{"chunked,"}, ErrTransferEncoding, nil},
		{"not a token", []string{"chunked\x01"}, ErrTransferEncoding, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tc TransferCodings
			var err error
			for _, f := range tt.fields {
				if err = tc.Add([]byte(f)); err != nil {
					break
				}
			}
			if tt.addErr != nil {
				require.ErrorIs(t, err, tt.addErr)
				return
			}
			require.NoError(t, err)
			assert.True(t, tc.Present)
			if tt.check != nil {
				assert.ErrorIs(t, tc.Check(), tt.check)
			} else {
				assert.NoError(t, tc.Check())
				assert.True(t, tc.LastChunked)
			}
		})
	}
	var none TransferCodings
	assert.NoError(t, none.Check(), "no Transfer-Encoding at all frames nothing")
}

func TestErrorText(t *testing.T) {
	assert.Equal(t, "carhop/parser: 431 request header section too large", ErrHeadTooLarge.Error())
	statuses := map[int]bool{}
	for _, e := range []*Error{ErrBareLF, ErrLineTooLong, ErrHeadTooLarge, ErrBodyTooLarge, ErrHTTPVersion, ErrUnsupportedCoding, ErrExpectation} {
		statuses[e.Status] = true
	}
	assert.Equal(t, map[int]bool{400: true, 414: true, 431: true, 413: true, 505: true, 501: true, 417: true}, statuses)
}
