package batcher

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Source locates an input record behind an operation.
type Source struct {
	File   string // input file as given on the command line
	Line   int    // 1-based line (or record number for non-line formats)
	Record string // record type: "305", "350", "UserProfile", …
}

// String renders the source as file:line (record).
func (s Source) String() string {
	if s.Record == "" {
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	}
	return fmt.Sprintf("%s:%d (record %s)", s.File, s.Line, s.Record)
}

// Operation is one SCIM Bulk operation for one employee.
type Operation struct {
	BulkID         string          // deterministic, see BulkID
	Method         string          // "POST" (create) or "PATCH"
	Path           string          // "/Users" or "/Users/{uuid}"
	EmployeeNumber string          // enterprise employeeNumber of the employee
	UserName       string          // core userName
	Data           json.RawMessage // SCIM User (POST) or PatchOp message (PATCH)
	Refs           []string        // employeeNumbers this operation references
	Sources        []Source        // input records behind it

	// Kind is "" for an operation from the input, KindRefs for the patch
	// adding the references of a creation split out of a reference cycle
	// (SplitOperation); Parent is then that creation's bulkId.
	Kind   string
	Parent string
	// Request is the 1-based request Order packed the operation in; 0 when
	// it is not scheduled yet.
	Request int
}

// SourceString names the operation's input records for error messages.
func (op *Operation) SourceString() string {
	if len(op.Sources) == 0 {
		if op.EmployeeNumber != "" {
			return "employee " + op.EmployeeNumber
		}
		return "bulkId " + op.BulkID
	}
	parts := make([]string, len(op.Sources))
	for i, s := range op.Sources {
		parts[i] = s.String()
	}
	return strings.Join(parts, ", ")
}

// References returns the employeeNumbers the operation references: op.Refs when
// the converter set it, otherwise what Refs finds in a POST's User document
// or PatchRefs in a PATCH's PatchOp message.
func (op *Operation) References() []string {
	switch {
	case op.Refs != nil:
		return op.Refs
	case op.Method == "POST":
		return Refs(op.Data)
	case op.Method == "PATCH":
		return PatchRefs(op.Data)
	}
	return nil
}

// Limits bounds one Bulk request.
type Limits struct {
	MaxOps   int // operations per request; UPS allows 100
	MaxBytes int // bytes of the encoded request body; UPS allows 400 KB
	// FailOnErrors is the value sent as the BulkRequest's failOnErrors. Zero
	// sends MaxOps: RFC 7644 defines it as the number of errors after which
	// the service stops, and every operation of a request should be tried.
	FailOnErrors int
}

// DefaultLimits are the documented UPS limits.
var DefaultLimits = Limits{MaxOps: 100, MaxBytes: 409600}

func (l Limits) withDefaults() Limits {
	if l.MaxOps <= 0 {
		l.MaxOps = DefaultLimits.MaxOps
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.FailOnErrors <= 0 {
		l.FailOnErrors = l.MaxOps
	}
	return l
}

const maxBulkIDBase = 40

// BulkID derives a bulkId from an operation's first source record: the file's
// base name reduced to [A-Za-z0-9._] plus the line, and the sequence number
// when one record yields several operations (seq > 0). It is stable across
// re-runs of the same input and unique within a run as long as input files
// have distinct base names; the engine refuses duplicates.
func BulkID(src Source, seq int) string {
	base := filepath.Base(filepath.ToSlash(src.File))
	if i := strings.LastIndexByte(base, '\\'); i >= 0 {
		base = base[i+1:]
	}
	var b strings.Builder
	for _, r := range base {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= maxBulkIDBase {
			break
		}
	}
	s := b.String()
	if s == "" || s == "." || s == ".." {
		s = "input"
	}
	s += "-" + strconv.Itoa(src.Line)
	if seq > 0 {
		s += "-" + strconv.Itoa(seq)
	}
	return s
}
