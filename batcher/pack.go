package batcher

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"scimigrate/scim"
)

// Request is one encoded SCIM BulkRequest.
type Request struct {
	// Body is the exact request body; len(Body) is what the limits measured.
	Body []byte
	// Ops are the keys of the operations in Body, in order: indexes into the
	// slice given to Pack, or the keys given to Builder.Add.
	Ops []int
}

// OversizeError reports an operation that does not fit in any request.
type OversizeError struct {
	BulkID string
	Source string // the operation's input records
	Size   int    // bytes of the request holding only this operation
	Limit  int
}

func (e *OversizeError) Error() string {
	return fmt.Sprintf("operation %s from %s needs a %d-byte Bulk request, more than the %d-byte limit",
		e.BulkID, e.Source, e.Size, e.Limit)
}

// EncodeOperation encodes one BulkRequest operation exactly as it is sent:
// {"method":…,"path":…,"bulkId":…,"data":…} with data compacted.
func EncodeOperation(op *Operation) ([]byte, error) {
	switch op.Method {
	case "POST", "PATCH", "PUT", "DELETE":
	default:
		return nil, fmt.Errorf("operation %s from %s: unsupported method %q", op.BulkID, op.SourceString(), op.Method)
	}
	if op.Path == "" {
		return nil, fmt.Errorf("operation %s from %s: empty path", op.BulkID, op.SourceString())
	}
	if op.BulkID == "" {
		return nil, fmt.Errorf("operation from %s: empty bulkId", op.SourceString())
	}
	buf := make([]byte, 0, len(op.Data)+len(op.Path)+len(op.BulkID)+48)
	buf = append(buf, `{"method":`...)
	buf = scim.AppendString(buf, op.Method)
	buf = append(buf, `,"path":`...)
	buf = scim.AppendString(buf, op.Path)
	buf = append(buf, `,"bulkId":`...)
	buf = scim.AppendString(buf, op.BulkID)
	if op.Method != "DELETE" || len(op.Data) > 0 {
		buf = append(buf, `,"data":`...)
		w := bytes.NewBuffer(buf)
		if err := json.Compact(w, op.Data); err != nil {
			return nil, fmt.Errorf("operation %s from %s: data: %w", op.BulkID, op.SourceString(), err)
		}
		buf = w.Bytes()
	}
	buf = append(buf, '}')
	return buf, nil
}

const bodySuffix = "]}"

func bodyPrefix(lim Limits) []byte {
	p := []byte(`{"schemas":["` + URNBulkReq + `"],"failOnErrors":`)
	p = strconv.AppendInt(p, int64(lim.FailOnErrors), 10)
	return append(p, `,"Operations":[`...)
}

// Builder accumulates encoded operations into one BulkRequest body. The body
// grows in place, so the size it checks against the limits is the size of
// the body it returns.
type Builder struct {
	lim     Limits
	prefix  []byte
	buf     []byte
	keys    []int
	reserve int // bytes operations will grow by once sent (see WireSize)
}

// NewBuilder returns a Builder for requests within lim (zero fields take
// DefaultLimits).
func NewBuilder(lim Limits) *Builder {
	lim = lim.withDefaults()
	b := &Builder{lim: lim, prefix: bodyPrefix(lim)}
	b.Reset()
	return b
}

// Limits returns the limits in force.
func (b *Builder) Limits() Limits { return b.lim }

// Reset starts a new, empty request. The body buffer is allocated on the
// first Add.
func (b *Builder) Reset() {
	b.buf = nil
	b.keys = nil
	b.reserve = 0
}

// Len returns the number of operations added.
func (b *Builder) Len() int { return len(b.keys) }

// Size returns the size in bytes the body would have if finished now,
// counting what reference patches grow by once sent.
func (b *Builder) Size() int {
	if b.buf == nil {
		return len(b.prefix) + len(bodySuffix)
	}
	return len(b.buf) + len(bodySuffix) + b.reserve
}

// Solo returns the size of a request holding only enc.
func (b *Builder) Solo(enc []byte) int { return len(b.prefix) + len(enc) + len(bodySuffix) }

// Fits reports whether enc can be added within both limits.
func (b *Builder) Fits(enc []byte) bool { return b.fits(len(enc)) }

func (b *Builder) fits(size int) bool {
	if len(b.keys) >= b.lim.MaxOps {
		return false
	}
	extra := size
	if len(b.keys) > 0 {
		extra++ // comma
	}
	return b.Size()+extra <= b.lim.MaxBytes
}

// Full reports whether the count limit is reached or fewer than minOp bytes
// remain.
func (b *Builder) Full(minOp int) bool {
	return len(b.keys) >= b.lim.MaxOps || b.lim.MaxBytes-b.Size() < minOp+1
}

// Add appends enc under key when it fits and reports whether it did.
func (b *Builder) Add(key int, enc []byte) bool { return b.AddSized(key, enc, len(enc)) }

// AddSized is Add for an operation whose wire size (WireSize) exceeds its
// encoding: the limits are checked against the wire size.
func (b *Builder) AddSized(key int, enc []byte, size int) bool {
	if !b.fits(size) {
		return false
	}
	b.reserve += size - len(enc)
	if b.buf == nil {
		b.buf = append(make([]byte, 0, min(b.lim.MaxBytes, 1<<20)), b.prefix...)
	}
	if len(b.keys) > 0 {
		b.buf = append(b.buf, ',')
	}
	b.buf = append(b.buf, enc...)
	b.keys = append(b.keys, key)
	return true
}

// Finish returns the request and resets the Builder.
func (b *Builder) Finish() Request {
	if b.buf == nil {
		b.buf = append([]byte(nil), b.prefix...)
	}
	body := append(b.buf, bodySuffix...)
	r := Request{Body: body, Ops: b.keys}
	b.Reset()
	return r
}

// Pack packs ops into BulkRequests within lim, with the packing Order
// uses (first fit): operations keep their relative order inside each
// request; each goes into the first request with room for it, which keeps
// requests full when sizes vary. Operations that fit in no request are left
// out and reported, naming their sources, in the returned error (a join of
// *OversizeError); the other operations are still packed. Pack does not
// order operations by their references: callers pass operations that may be
// sent together (Order schedules a whole run).
func Pack(ops []Operation, lim Limits) ([]Request, error) {
	lim = lim.withDefaults()
	prefix := len(bodyPrefix(lim)) + len(bodySuffix)
	var (
		errs  []error
		encs  [][]byte
		sizes []int
		keys  []int
	)
	for i := range ops {
		enc, err := EncodeOperation(&ops[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sz := WireSize(&ops[i], enc)
		if prefix+sz > lim.MaxBytes {
			errs = append(errs, &OversizeError{BulkID: ops[i].BulkID, Source: ops[i].SourceString(), Size: prefix + sz, Limit: lim.MaxBytes})
			continue
		}
		encs, sizes, keys = append(encs, enc), append(sizes, sz), append(keys, i)
	}
	bins := firstFit(sizes, lim, prefix)
	reqs := make([]Request, len(bins))
	for k, bin := range bins {
		b := NewBuilder(lim)
		for _, idx := range bin {
			b.AddSized(keys[idx], encs[idx], sizes[idx])
		}
		reqs[k] = b.Finish()
	}
	return reqs, errors.Join(errs...)
}
