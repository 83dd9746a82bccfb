package mapping

import (
	"strings"

	"scimigrate/scim"
)

// Expand fills the {name} placeholders of a path template with lookup's
// values. A value inside a quoted filter literal is escaped as a JSON string;
// elsewhere (Delegate:{product}) it is written as it is. The first lookup
// error stops the expansion.
func Expand(tmpl string, lookup func(name string) (string, error)) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			return b.String(), nil
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			return b.String(), nil
		}
		b.WriteString(tmpl[:i])
		v, err := lookup(tmpl[i+1 : i+j])
		if err != nil {
			return "", err
		}
		if i > 0 && tmpl[i-1] == '"' {
			b.WriteString(EscapeLiteral(v))
		} else {
			b.WriteString(v)
		}
		tmpl = tmpl[i+j+1:]
	}
}

// EscapeLiteral escapes s for the inside of a quoted filter literal.
func EscapeLiteral(s string) string {
	if !strings.ContainsAny(s, `"\`) && isPrintableASCII(s) {
		return s
	}
	lit := scim.AppendString(nil, s)
	return string(lit[1 : len(lit)-1])
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
