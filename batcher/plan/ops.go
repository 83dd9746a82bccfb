package plan

import (
	"fmt"
	"strings"

	"scimigrate/batcher"
	"scimigrate/scim"
)

// buildOps turns the user plans into Bulk operations and schedules them
// with batcher.Order, the scheduler every apply path uses: creations in a
// reference cycle are split into the identity and a reference patch (shown
// in the plan, sent as shown), operations referencing new employees wait
// for their creation's wave, deactivations come last, and each wave is
// packed into Bulk requests.
func (p *Plan) buildOps(lim batcher.Limits) error {
	p.lim = lim
	var ops []batcher.Operation
	var owner []*UserPlan
	used := map[string]bool{}
	for _, up := range p.Users {
		var op batcher.Operation
		switch up.Action {
		case Create:
			op = batcher.Operation{Method: "POST", Path: "/Users", Data: up.createJSON, Refs: up.refs}
		case Update, Deactivate:
			op = batcher.Operation{Method: "PATCH", Path: "/Users/" + up.ID, Refs: up.refs}
			if up.sp == nil {
				var wire []scim.PatchOperation
				for _, c := range up.Changes {
					wire = append(wire, c.Ops...)
				}
				if len(wire) == 0 {
					continue
				}
				op.Data, op.Refs = scim.AppendPatchOp(nil, wire), batcher.PatchOpRefs(wire)
			} else if !up.data.ok() {
				continue
			}
		default:
			continue
		}
		op.EmployeeNumber = up.EmployeeNumber
		op.UserName = up.UserName
		op.Sources = up.Sources
		op.BulkID = uniqueBulkID(up, used)
		if op.Refs == nil {
			op.Refs = op.References()
		}
		ops = append(ops, op)
		owner = append(owner, up)
	}
	if len(ops) == 0 {
		return nil
	}
	// A streamed plan's operation reads its JSON from the spool when it is
	// needed (sizing, splitting, the bodies), one at a time.
	load := func(i int) batcher.Operation {
		op := ops[i]
		if op.Data == nil && owner[i].sp != nil {
			op.Data = owner[i].sp.read(owner[i].data)
		}
		return op
	}
	nodes := make([]batcher.Node, len(ops))
	for i := range ops {
		nodes[i] = batcher.Node{Method: ops[i].Method, EmployeeNumber: ops[i].EmployeeNumber, Refs: ops[i].Refs, Last: owner[i].Action == Deactivate}
	}
	g := batcher.Dependencies(nodes)
	refsOp := make([]batcher.Operation, len(ops))
	for i := range ops {
		if !g.Split[i] {
			continue
		}
		ident, refs, err := batcher.SplitOperation(load(i))
		if err != nil {
			return fmt.Errorf("employee %s: %w", ops[i].EmployeeNumber, err)
		}
		ops[i], refsOp[i] = ident, refs
	}
	pick := func(it batcher.Item) *batcher.Operation {
		if it.Refs {
			return &refsOp[it.Op]
		}
		return &ops[it.Op]
	}
	size := func(it batcher.Item) (int, error) {
		op := pick(it)
		if op.Method == "" {
			return -1, nil
		}
		if op.Data == nil {
			l := load(it.Op)
			op = &l
			if err := p.sp.Err(); err != nil {
				return 0, err
			}
		}
		enc, err := batcher.EncodeOperation(op)
		if err != nil {
			return 0, err
		}
		return batcher.WireSize(op, enc), nil
	}
	oversize := func(it batcher.Item, n int) error {
		op := pick(it)
		return &batcher.OversizeError{BulkID: op.BulkID, Source: op.SourceString(), Size: n, Limit: batcher.NewBuilder(lim).Limits().MaxBytes}
	}
	sched, err := batcher.Order(nodes, lim, size, oversize)
	if err != nil {
		return err
	}
	for _, st := range sched.Steps {
		op := *pick(st.Item)
		op.Request = st.Request + 1
		if st.Refs {
			owner[st.Op].RefsOp = len(p.Ops)
		} else {
			owner[st.Op].Op = len(p.Ops)
		}
		p.Ops = append(p.Ops, op)
		if p.sp != nil {
			var r sref
			if op.Data == nil {
				r = owner[st.Op].data
			}
			p.opRef = append(p.opRef, r)
		}
	}
	if p.sp == nil {
		p.Requests, err = batcher.Bodies(p.Ops, lim)
		if err != nil {
			return err
		}
	} else {
		// The bodies are built when saved or sent (Body).
		for i := range p.Ops {
			if n := len(p.Requests); n == 0 || p.Ops[p.Requests[n-1].Ops[0]].Request != p.Ops[i].Request {
				p.Requests = append(p.Requests, batcher.Request{})
			}
			r := &p.Requests[len(p.Requests)-1]
			r.Ops = append(r.Ops, i)
		}
	}
	p.Waves = sched.Waves
	for i := range ops {
		up := owner[i]
		if refsOp[i].Method == "" || up.RefsOp < 0 {
			continue
		}
		// Shown as sent: the identity, then the reference patch.
		up.Resource = mustDecode(ops[i].Data) // split: in memory
		up.refsPatch = &p.Ops[up.RefsOp]
		up.Notes = append(up.Notes, fmt.Sprintf("in a reference cycle (%s): created without approvers, delegates and managers; "+
			"the PATCH %s (request %d, path %s) adds them once every employee it names exists",
			strings.Join(refsOp[i].Refs, ", "), refsOp[i].BulkID, p.Ops[up.RefsOp].Request, refsOp[i].Path))
	}
	return nil
}

func uniqueBulkID(up *UserPlan, used map[string]bool) string {
	var base string
	if len(up.Sources) > 0 {
		base = batcher.BulkID(up.Sources[0], 0)
	} else {
		who := up.EmployeeNumber
		if who == "" {
			who = up.ID
		}
		base = batcher.BulkID(batcher.Source{File: up.Action.String() + "-" + who}, 0)
		base = strings.TrimSuffix(base, "-0")
	}
	id := base
	for n := 1; used[id]; n++ {
		id = fmt.Sprintf("%s-%d", base, n)
	}
	used[id] = true
	return id
}
