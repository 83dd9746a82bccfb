package plan

import (
	"encoding/binary"
	"testing"
)

// TestPlain8: plain8 says yes exactly when no byte of the word is a quote,
// a backslash, a control character or non-ASCII, wherever it is.
func TestPlain8(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	for c := 0; c < 256; c++ {
		for k := 0; k < 8; k++ {
			for _, fill := range []byte{'a', ' ', 0x7f, '~'} {
				b := []byte{fill, fill, fill, fill, fill, fill, fill, fill}
				b[k] = byte(c)
				if got := plain8(binary.LittleEndian.Uint64(b)); got != plain(byte(c)) {
					t.Errorf("%q: plain8 %v", b, got)
				}
				b[7-k] = 0x1f
				if plain8(binary.LittleEndian.Uint64(b)) {
					t.Errorf("%q: plain8 true", b)
				}
			}
		}
	}
}
