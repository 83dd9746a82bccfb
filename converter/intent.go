package converter

import (
	"scimigrate/scim"
)

// AppendIntent encodes an ID-change intent as one JSON object:
// {"employeeNumber": current, "changes": {…}, "source": {"file","line"}}.
func AppendIntent(b []byte, in *Intent) []byte {
	b = append(b, `{"employeeNumber":`...)
	b = scim.AppendString(b, in.Current)
	b = append(b, `,"changes":`...)
	b = in.Changes.AppendResource(b)
	b = append(b, `,"source":{"file":`...)
	b = scim.AppendString(b, in.Record.File)
	b = append(b, `,"line":`...)
	b = append(b, scim.Int(int64(in.Record.Line)).Str...)
	return append(b, `}}`...)
}
