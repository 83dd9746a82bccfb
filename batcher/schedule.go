package batcher

import (
	"errors"
	"sort"
	"strings"
)

// KindRefs marks the operation that adds the references of a creation split
// out of a reference cycle (Operation.Kind).
const KindRefs = "refs"

// ParentRef is how the path of a reference patch names the creation it
// completes until the service has assigned its id: "/Users/bulkId:" + the
// creation's bulkId (RFC 7644's bulkId reference syntax). The apply engine
// replaces it with the id the creation's status reported, and that is the
// only byte of a scheduled request it changes.
const ParentRef = "/Users/bulkId:"

// IDLen is the length of a Concur UUID. Packing counts a reference patch as
// if its path already held one, so the request still fits once it does.
const IDLen = 36

// WireSize is the size op takes in a request once sent: its encoding, plus
// for a reference patch the bytes its path grows by when the parent's id
// replaces the bulkId reference.
func WireSize(op *Operation, enc []byte) int {
	if op.Kind == KindRefs && strings.HasPrefix(op.Path, ParentRef) {
		if grow := IDLen - (len(op.Path) - len("/Users/")); grow > 0 {
			return len(enc) + grow
		}
	}
	return len(enc)
}

// SplitOperation splits a creation in a reference cycle: the identity
// without references (same bulkId, no Refs), and the reference patch
// (bulkId + "-refs", path ParentRef + bulkId) that adds them. The patch
// references the employee itself as well as everyone it names, so it waits
// for the identity's creation. refs.Method is "" when the creation holds no
// reference (nothing to split).
func SplitOperation(op Operation) (ident, refs Operation, err error) {
	idData, patch, err := SplitReferences(op.Data)
	if err != nil {
		return op, Operation{}, err
	}
	ident = op
	ident.Refs = []string{}
	if patch == nil {
		return ident, Operation{}, nil
	}
	ident.Data = idData
	seen := map[string]bool{op.EmployeeNumber: true}
	for _, r := range op.References() {
		seen[r] = true
	}
	refs = Operation{BulkID: op.BulkID + "-refs", Method: "PATCH", Path: ParentRef + op.BulkID,
		EmployeeNumber: op.EmployeeNumber, UserName: op.UserName, Data: patch, Refs: sortedSet(seen),
		Sources: op.Sources, Kind: KindRefs, Parent: op.BulkID}
	return ident, refs, nil
}

// Item is one operation to schedule: an input operation, or (Refs) the
// reference patch of the split creation Op.
type Item struct {
	Op   int
	Refs bool
}

// Step is one scheduled operation, in the order it is sent.
type Step struct {
	Item
	Wave    int // dependency wave: waits for creations of earlier waves
	Request int // 0-based request it is packed in
}

// Schedule is the order in which a run sends its operations: every apply
// path (a saved plan, a live plan, --create-only) is scheduled by Order, so
// what a plan shows is what is sent.
type Schedule struct {
	Graph
	// Steps are the operations packed in requests, in sending order:
	// request by request, each request's operations in body order.
	Steps []Step
	// Waves[r] is the wave of request r.
	Waves []int
}

// Requests returns the number of requests.
func (s *Schedule) Requests() int { return len(s.Waves) }

// Order schedules operations given by what ordering needs of them (nodes)
// and the wire size of each item (size, see WireSize; for a split creation
// the size of its identity-only form; negative for an item with nothing to
// send):
//
//   - Dependencies says which operation waits for which creation, and
//     which creations are split out of reference cycles;
//   - waves: a split creation (sent without references) and an operation
//     referencing no employee created in the run are in wave 0; an
//     operation referencing new employees comes one wave after the last of
//     their creations; a reference patch one wave after its creation and
//     everything it names; operations of Last nodes (deactivations) in a
//     wave of their own after everything else;
//   - packing: each wave's items go first fit into requests within lim, in
//     the order of the last request each waits for (then input order,
//     reference patches after every input operation), so a wave's requests
//     become sendable in the order they are sent.
//
// Items that fit in no request are left out of Steps and reported in the
// error (a join of *OversizeError, built by oversize); the rest is still
// scheduled.
func Order(nodes []Node, lim Limits, size func(Item) (int, error), oversize func(Item, int) error) (*Schedule, error) {
	lim = lim.withDefaults()
	s := &Schedule{Graph: Dependencies(nodes)}
	n := len(nodes)
	wave := make([]int, n)
	state := make([]uint8, n) // 0 new, 1 visiting, 2 done
	var visit func(i int) int
	visit = func(i int) int {
		if state[i] == 2 || state[i] == 1 {
			return wave[i] // 1: a cycle through non-split nodes cannot happen
		}
		state[i] = 1
		w := 0
		if !s.Split[i] {
			for _, j := range s.Deps[i] {
				w = max(w, visit(int(j))+1)
			}
		}
		wave[i], state[i] = w, 2
		return w
	}
	var items []Step
	last := 0
	for i := range nodes {
		if nodes[i].Last {
			continue
		}
		last = max(last, visit(i))
		items = append(items, Step{Item: Item{Op: i}, Wave: wave[i]})
	}
	for i := range nodes {
		if !s.Split[i] || nodes[i].Last {
			continue
		}
		w := wave[i]
		for _, j := range s.Deps[i] {
			w = max(w, visit(int(j)))
		}
		last = max(last, w+1)
		items = append(items, Step{Item: Item{Op: i, Refs: true}, Wave: w + 1})
	}
	for i := range nodes {
		if nodes[i].Last {
			items = append(items, Step{Item: Item{Op: i}, Wave: last + 1})
		}
	}
	sort.SliceStable(items, func(a, b int) bool { return items[a].Wave < items[b].Wave })

	var errs []error
	prefix := len(bodyPrefix(lim)) + len(bodySuffix)
	reqOf := make([]int, n) // request of each input operation's (identity) creation
	for i := range reqOf {
		reqOf[i] = -1
	}
	// after is the last request an item waits for: items of a wave are
	// packed in that order, so the requests of a wave are sent in the
	// order the creations they wait for complete.
	after := func(it Item) int {
		a := -1
		if it.Refs {
			a = reqOf[it.Op]
		}
		for _, j := range s.Deps[it.Op] {
			if !s.Split[it.Op] || it.Refs {
				a = max(a, reqOf[j])
			}
		}
		return a
	}
	for lo := 0; lo < len(items); {
		hi := lo
		for hi < len(items) && items[hi].Wave == items[lo].Wave {
			hi++
		}
		if items[lo].Wave > 0 {
			wv := items[lo:hi]
			keys := make(map[Item]int, len(wv))
			for _, it := range wv {
				keys[it.Item] = after(it.Item)
			}
			sort.SliceStable(wv, func(a, b int) bool { return keys[wv[a].Item] < keys[wv[b].Item] })
		}
		sizes := make([]int, 0, hi-lo)
		group := make([]Step, 0, hi-lo)
		for _, it := range items[lo:hi] {
			sz, err := size(it.Item)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if sz < 0 {
				continue // nothing to send
			}
			if prefix+sz > lim.MaxBytes {
				errs = append(errs, oversize(it.Item, prefix+sz))
				continue
			}
			sizes = append(sizes, sz)
			group = append(group, it)
		}
		base := len(s.Waves)
		for k, bin := range firstFit(sizes, lim, prefix) {
			for _, idx := range bin {
				st := group[idx]
				st.Request = base + k
				s.Steps = append(s.Steps, st)
				if !st.Refs {
					reqOf[st.Op] = st.Request
				}
			}
			s.Waves = append(s.Waves, items[lo].Wave)
		}
		lo = hi
	}
	return s, errors.Join(errs...)
}

// firstFit packs items of the given wire sizes into requests within lim:
// each item goes into the first request with room for it, so requests stay
// full when sizes vary. It returns the requests, each the indexes of its
// items in order. Every size fits alone (the caller checks).
func firstFit(sizes []int, lim Limits, prefix int) [][]int {
	type bin struct {
		items []int
		size  int // body bytes: prefix, suffix, items and commas
	}
	var (
		bins []*bin
		open []int // indexes of bins still accepting items
	)
	minItem := 1 << 30
	full := func(b *bin) bool { return len(b.items) >= lim.MaxOps || lim.MaxBytes-b.size < minItem+1 }
	for i, sz := range sizes {
		minItem = min(minItem, sz)
		placed := false
		for k := 0; k < len(open); k++ {
			b := bins[open[k]]
			if len(b.items) >= lim.MaxOps || b.size+sz+1 > lim.MaxBytes {
				continue
			}
			b.items = append(b.items, i)
			b.size += sz + 1
			if full(b) {
				open = append(open[:k], open[k+1:]...)
			}
			placed = true
			break
		}
		if placed {
			continue
		}
		b := &bin{items: []int{i}, size: prefix + sz}
		bins = append(bins, b)
		if !full(b) {
			open = append(open, len(bins)-1)
		}
	}
	out := make([][]int, len(bins))
	for k, b := range bins {
		out[k] = b.items
	}
	return out
}

// Bodies encodes scheduled requests: ops in sending order, each with its
// 1-based Request. The bodies are what the apply engine sends for the same
// operations (apart from a reference patch's ParentRef path).
func Bodies(ops []Operation, lim Limits) ([]Request, error) {
	lim = lim.withDefaults()
	var reqs []Request
	b := NewBuilder(lim)
	cur := 0
	for i := range ops {
		op := &ops[i]
		if op.Request != cur && b.Len() > 0 {
			reqs = append(reqs, b.Finish())
		}
		cur = op.Request
		enc, err := EncodeOperation(op)
		if err != nil {
			return nil, err
		}
		if !b.AddSized(i, enc, WireSize(op, enc)) {
			return nil, &OversizeError{BulkID: op.BulkID, Source: op.SourceString(), Size: b.Size() + WireSize(op, enc), Limit: lim.MaxBytes}
		}
	}
	if b.Len() > 0 {
		reqs = append(reqs, b.Finish())
	}
	return reqs, nil
}
