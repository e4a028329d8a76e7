package hms

import (
	"fmt"
	"regexp"
)

// 100ms ids are 24-hex (rooms, sessions, recordings, templates) or UUIDs
// (peers). Ids go into URL paths, so anything else is refused before it can
// turn GET /rooms/{id} into a different route ("", "..", "a/b").
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

func validID(kind, id string) error {
	if !idPattern.MatchString(id) || id == "." || id == ".." {
		return fmt.Errorf("%w: %s %q", ErrInvalidArgument, kind, id)
	}
	return nil
}

// Room names: "a-zA-Z0-9.-:_", case-insensitive at 100ms. Template names
// also allow spaces.
var (
	roomNamePattern     = regexp.MustCompile(`^[A-Za-z0-9.:_-]{1,256}$`)
	templateNamePattern = regexp.MustCompile(`^[A-Za-z0-9 .:_-]{1,256}$`)
)
