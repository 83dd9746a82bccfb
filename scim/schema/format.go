package schema

import (
	"net/mail"
	"time"
)

// The format checkers behave exactly as gojsonschema v1.2.0's
// (format_checkers.go), which the differential tests and FuzzFormats
// confirm, but skip the layouts that cannot match so that a valid value
// costs no allocation.

// isDate is gojsonschema's DateFormatChecker: time.Parse("2006-01-02").
func isDate(s string) bool {
	if len(s) < 5 || s[4] != '-' {
		return false
	}
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

// isDateTime is gojsonschema's DateTimeFormatChecker: any of
// "15:04:05", "15:04:05Z07:00", "2006-01-02", RFC 3339, RFC 3339 with
// fractions. The time-only layouts need ':' after a one- or two-digit hour;
// the others need '-' after a four-digit year.
func isDateTime(s string) bool {
	if len(s) > 4 && s[4] == '-' {
		// "2006-01-02" matches only 10-byte strings, which are too short
		// for RFC 3339.
		if len(s) == 10 {
			_, err := time.Parse("2006-01-02", s)
			return err == nil
		}
		if _, err := time.Parse(time.RFC3339, s); err == nil {
			return true
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	}
	if len(s) > 2 && (s[1] == ':' || s[2] == ':') {
		for _, layout := range [...]string{"15:04:05", "15:04:05Z07:00"} {
			if _, err := time.Parse(layout, s); err == nil {
				return true
			}
		}
	}
	return false
}

// isEmail is gojsonschema's EmailFormatChecker: net/mail.ParseAddress,
// which also accepts forms such as "Name <a@b>". Plain ASCII addresses
// local@domain made of dot-atoms are accepted without calling it.
func isEmail(s string) bool {
	if simpleAddrSpec(s) {
		return true
	}
	_, err := mail.ParseAddress(s)
	return err == nil
}

// simpleAddrSpec reports whether s is dot-atom "@" dot-atom in printable
// ASCII (RFC 5322 atext), a subset of what mail.ParseAddress accepts.
func simpleAddrSpec(s string) bool {
	at := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '@' {
			if at >= 0 {
				return false
			}
			at = i
		}
	}
	return at > 0 && dotAtom(s[:at]) && dotAtom(s[at+1:])
}

func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case c <= ' ' || c >= 0x7f:
			return false
		case c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' ||
			c == ':' || c == ';' || c == '@' || c == '\\' || c == ',' || c == '"':
			return false
		}
	}
	return true
}
