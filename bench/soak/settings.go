package soak

import (
	"time"

	"github.com/carhop/carhop/adapter"
	"github.com/carhop/carhop/parser"
)

// The child's settings. They are constants, not Config, because the
// clients are built around them: the spill thresholds are well under the
// upload and download sizes, so that bodies and outputs go through
// temporary files all run long; the request timeout is what cuts the
// slowloris clients; the channel timeout is what the slow readers must
// stay within.
const (
	threads        = 16
	inbufOverflow  = 64 << 10  // request bodies above this spill to a file
	outbufOverflow = 256 << 10 // response output above this spills to a file
	// A slow reader's response is longer than this, so its writer waits in
	// memory and spills only the last outbufHighWatermark bytes.
	outbufHighWatermark = 2 << 20
	// All connections' buffers together: tight enough that bodies and
	// outputs also spill early for want of memory, all run long.
	bufferMemory    = 256 << 10
	requestTimeout  = 2 * time.Second
	channelTimeout  = 10 * time.Second
	cleanupInterval = 250 * time.Millisecond
	// The drain's grace period: as long as the slowest exchange any kind
	// allows (opTimeout), so that a drain that cuts one is the server's
	// fault. A slow client's takes over 5 s on a loaded machine.
	shutdownTimeout = opTimeout
	maxHeaderBytes  = 16 << 10
	maxBodyBytes    = 8 << 20
)

// Settings describes the child's configuration, for the report.
type Settings struct {
	Threads          int           `json:"threads"`
	InbufOverflow    int           `json:"inbuf_overflow"`
	OutbufOverflow   int           `json:"outbuf_overflow"`
	OutbufHighWater  int           `json:"outbuf_high_watermark"`
	BufferMemory     int64         `json:"buffer_memory"`
	RequestTimeout   time.Duration `json:"request_timeout_ns"`
	ChannelTimeout   time.Duration `json:"channel_timeout_ns"`
	CleanupInterval  time.Duration `json:"cleanup_interval_ns"`
	MaxHeaderBytes   int           `json:"max_header_bytes"`
	MaxBodyBytes     int64         `json:"max_body_bytes"`
	UploadBytes      int           `json:"upload_bytes"`
	DownloadBytes    int           `json:"download_bytes"`
	SlowReaderBytes  int           `json:"slow_reader_bytes"`
	StreamChunks     int           `json:"stream_chunks"`
	StreamPause      time.Duration `json:"stream_pause_ns"`
	SubscriberEvents int           `json:"subscriber_events"`
	SubscriberPause  time.Duration `json:"subscriber_pause_ns"`
	SlowHandlerSleep time.Duration `json:"slow_handler_sleep_ns"`
	PipelineDepth    int           `json:"pipeline_depth"`
	GreedyDepth      int           `json:"greedy_depth"`
	GreedyHeadBytes  int           `json:"greedy_head_bytes"`
	ContinueBytes    int           `json:"continue_bytes"`
	UpgradeMessages  int           `json:"upgrade_messages"`
}

func settings() Settings {
	return Settings{
		Threads: threads, InbufOverflow: inbufOverflow, OutbufOverflow: outbufOverflow, OutbufHighWater: outbufHighWatermark,
		BufferMemory: bufferMemory, RequestTimeout: requestTimeout, ChannelTimeout: channelTimeout, CleanupInterval: cleanupInterval,
		MaxHeaderBytes: maxHeaderBytes, MaxBodyBytes: maxBodyBytes,
		UploadBytes: uploadBytes, DownloadBytes: downloadBytes, SlowReaderBytes: slowReaderBytes,
		StreamChunks: streamChunks, StreamPause: streamPause, SlowHandlerSleep: slowSleep,
		SubscriberEvents: subscriberEvents, SubscriberPause: subscriberPause,
		PipelineDepth: pipelineDepth, GreedyDepth: greedyDepth, GreedyHeadBytes: greedyHeadBytes,
		ContinueBytes: continueBytes, UpgradeMessages: upgradeMessages,
	}
}

func serverOptions(addr, tempDir string) []adapter.Option {
	return []adapter.Option{
		adapter.WithListen(addr),
		adapter.WithThreads(threads),
		adapter.WithInbufOverflow(inbufOverflow),
		adapter.WithOutbufOverflow(outbufOverflow),
		adapter.WithOutbufHighWatermark(outbufHighWatermark),
		adapter.WithBufferMemory(bufferMemory),
		adapter.WithRequestTimeout(requestTimeout),
		adapter.WithChannelTimeout(channelTimeout),
		adapter.WithCleanupInterval(cleanupInterval),
		adapter.WithShutdownTimeout(shutdownTimeout),
		adapter.WithLimits(parser.Limits{MaxHeaderBytes: maxHeaderBytes, MaxBodyBytes: maxBodyBytes}),
		adapter.WithTempDir(tempDir),
	}
}
