package plan

import (
	"bytes"
	"os"
	"testing"

	"scimigrate/scim"
	"unicode/utf8"
)

// FuzzReadSnapshot: the snapshot reader never panics, and what it accepts
// it writes back as a snapshot that reads the same.
func FuzzReadSnapshot(f *testing.F) {
	if b, err := os.ReadFile(fixtureDir + "/snapshot.ndjson"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"id":"a","userName":"x@y.z","meta":{"version":"W/\"1\""}}` + "\n\n" + `{"id":"b"}`))
	f.Add([]byte(`{"id":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":7}}`))
	f.Add([]byte(`{"id":"a"}` + "\n" + `{"id":"A"}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte("{\"id\":\"\xff\",\"active\":null}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadSnapshot(bytes.NewReader(data), "fuzz.ndjson")
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := s.Write(&buf); err != nil {
			t.Fatal(err)
		}
		again, err := ReadSnapshot(&buf, "again.ndjson")
		if err != nil {
			t.Fatalf("a written snapshot does not read back: %v\n%s", err, buf.Bytes())
		}
		if len(again.Users) != len(s.Users) {
			t.Fatalf("%d users, then %d", len(s.Users), len(again.Users))
		}
		for i, u := range s.Users {
			a := again.Users[i]
			if a.Active() != u.Active() || !bytes.Equal(scim.AppendJSON(nil, a.Doc), scim.AppendJSON(nil, u.Doc)) {
				t.Fatalf("user %d: %+v, then %+v", i, u, a)
			}
			if utf8.ValidString(u.ID) && a.ID != u.ID {
				t.Fatalf("user %d: id %q, then %q", i, u.ID, a.ID)
			}
		}
	})
}
