//go:build race

package proctest

// raceEnabled reports whether this binary was built with -race: the
// servers it builds are then built with it too.
const raceEnabled = true
