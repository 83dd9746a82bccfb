package schema

import (
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"scimigrate/scim"
)

// benchUser is a realistic 305 user with its 350 travel addendum and a 550
// delegate: about 80 leaves.
func benchUser() *scim.User {
	g := newGen(7)
	for i := 0; ; i++ {
		u := g.user(i)
		doc := scim.Obj(&u.Doc)
		if _, ok := u.Doc.Get("phoneNumbers"); ok && leaves(&doc) >= 75 {
			if _, ok := u.Doc.Get("urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate"); ok {
				return u
			}
		}
	}
}

// bench305 is a 305 record alone (no travel addendum, no delegate).
func bench305() *scim.User {
	g := newGen(7)
	for i := 0; ; i++ {
		u := g.user(i)
		_, travel := u.Doc.Get("urn:ietf:params:scim:schemas:extension:travel:2.0:User")
		_, del := u.Doc.Get("urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate")
		if !travel && !del {
			return u
		}
	}
}

func BenchmarkValidateFast305(b *testing.B) {
	u := bench305()
	doc := scim.Obj(&u.Doc)
	if v := Validate(u, Create); len(v) != 0 {
		b.Fatal(v)
	}
	b.ReportAllocs()
	for b.Loop() {
		Validate(u, Create)
	}
	b.ReportMetric(float64(leaves(&doc)), "leaves")
}

func BenchmarkValidateFast(b *testing.B) {
	u := benchUser()
	doc := scim.Obj(&u.Doc)
	if v := Validate(u, Create); len(v) != 0 {
		b.Fatal(v)
	}
	b.ReportAllocs()
	for b.Loop() {
		Validate(u, Create)
	}
	b.ReportMetric(float64(leaves(&doc)), "leaves")
}

// BenchmarkValidateFastInvalid measures a user with three violations.
func BenchmarkValidateFastInvalid(b *testing.B) {
	u := benchUser()
	u.Doc.Set("userName", scim.Str("chris.example.com"))
	ext, _ := u.Doc.Get("urn:ietf:params:scim:schemas:extension:spend:2.0:User")
	ext.Obj.Set("country", scim.Str("USX"))
	ext.Obj.Set("locale", scim.Str("en_US"))
	if v := Validate(u, Create); len(v) != 3 {
		b.Fatal(v)
	}
	b.ReportAllocs()
	for b.Loop() {
		Validate(u, Create)
	}
}

// BenchmarkValidateGoJSONSchema is the reference on the encoded resource
// (encoding included, as a pipeline would pay it).
func BenchmarkValidateGoJSONSchema(b *testing.B) {
	u := benchUser()
	doc := scim.Obj(&u.Doc)
	defer func() { b.ReportMetric(float64(leaves(&doc)), "leaves") }()
	s, err := referenceSchemas()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = u.AppendResource(buf[:0])
		r, err := s[Create].Validate(gojsonschema.NewBytesLoader(buf))
		if err != nil || !r.Valid() {
			b.Fatal(err, r.Errors())
		}
	}
}
