package converter

import (
	"io"

	"scimigrate/mapping"
)

// LoadMappings loads the embedded tables with the overrides of dir (may be
// ""), checking every target path against the SCIM schema.
func LoadMappings(dir string, cfg *mapping.Config) (*mapping.Set, error) {
	return mapping.Load(dir, cfg)
}

// OpenInputs opens input files ("-" is standard input).
func OpenInputs(paths []string, stdin io.Reader) ([]Input, error) {
	var out []Input
	for _, p := range paths {
		in, err := OpenFlat(p, stdin)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// DefaultValidator is the validation every command applies.
var DefaultValidator Validator
