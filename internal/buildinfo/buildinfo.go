// Package buildinfo says which tram this is: its release version and the
// commit it was built from, as run records and model metadata state them.
package buildinfo

import "runtime/debug"

// Version is tram's release version.
const Version = "0.1.0-dev"

// Commit returns the commit tram was built from ("+dirty" when the tree had
// uncommitted changes), or "unknown".
func Commit() string {
	c, dirty := "unknown", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				c = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if dirty {
		c += "+dirty"
	}
	return c
}

// Full is the version and the commit, as run records state them.
func Full() string { return Version + " (commit " + Commit() + ")" }
