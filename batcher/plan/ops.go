package plan

import (
	"fmt"
	"sort"
	"strings"

	"scimigrate/batcher"
	"scimigrate/scim"
)

// buildOps turns the user plans into Bulk operations, orders them in
// dependency waves (a creation comes before the operations that reference
// the new employee; deactivations come last) and packs each wave into Bulk
// requests with batcher.Pack.
func (p *Plan) buildOps(lim batcher.Limits) error {
	var ops []batcher.Operation
	var owner []*UserPlan
	used := map[string]bool{}
	for _, up := range p.Users {
		var op batcher.Operation
		switch up.Action {
		case Create:
			op = batcher.Operation{Method: "POST", Path: "/Users", Data: up.createJSON}
		case Update, Deactivate:
			var wire []scim.PatchOperation
			for _, c := range up.Changes {
				wire = append(wire, c.Ops...)
			}
			if len(wire) == 0 {
				continue
			}
			op = batcher.Operation{Method: "PATCH", Path: "/Users/" + up.ID, Data: scim.AppendPatchOp(nil, wire), Refs: batcher.PatchOpRefs(wire)}
		default:
			continue
		}
		op.EmployeeNumber = up.EmployeeNumber
		op.UserName = up.UserName
		op.Sources = up.Sources
		op.BulkID = uniqueBulkID(up, used)
		ops = append(ops, op)
		owner = append(owner, up)
	}
	if len(ops) == 0 {
		return nil
	}
	nodes := make([]batcher.Node, len(ops))
	for i := range ops {
		nodes[i] = batcher.Node{Method: ops[i].Method, EmployeeNumber: ops[i].EmployeeNumber, Refs: ops[i].References()}
	}
	g := batcher.Dependencies(nodes)
	wave := make([]int, len(ops))
	state := make([]uint8, len(ops)) // 0 new, 1 visiting, 2 done
	var visit func(i int) int
	visit = func(i int) int {
		switch state[i] {
		case 2:
			return wave[i]
		case 1:
			return 0 // a cycle through non-split nodes cannot happen; be safe
		}
		state[i] = 1
		w := 0
		for _, j := range g.Deps[i] {
			if g.Split[i] && g.Split[int(j)] {
				continue // a reference cycle: sent together
			}
			w = max(w, visit(int(j))+1)
		}
		wave[i], state[i] = w, 2
		return w
	}
	last := 0
	var cyc []string
	for i := range ops {
		last = max(last, visit(i))
		if g.Split[i] {
			cyc = append(cyc, ops[i].EmployeeNumber)
		}
	}
	if len(cyc) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("employees %s are created by this plan and reference each other (or themselves): "+
			"their creations go in the same wave, and a reference to an employee not yet created fails with INVALID_USER; "+
			"apply them with 'scimigrate apply FILE...', which creates the identities first and adds the references afterwards",
			strings.Join(cyc, ", ")))
	}
	for i := range ops {
		if owner[i].Action == Deactivate {
			wave[i] = last + 1
		}
	}
	idx := make([]int, len(ops))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return wave[idx[a]] < wave[idx[b]] })

	var errs []string
	for lo := 0; lo < len(idx); {
		hi := lo
		for hi < len(idx) && wave[idx[hi]] == wave[idx[lo]] {
			hi++
		}
		group := make([]batcher.Operation, hi-lo)
		for k := lo; k < hi; k++ {
			group[k-lo] = ops[idx[k]]
		}
		reqs, err := batcher.Pack(group, lim)
		if err != nil {
			errs = append(errs, err.Error())
		}
		for _, r := range reqs {
			global := make([]int, len(r.Ops))
			for n, k := range r.Ops {
				src := idx[lo+k]
				global[n] = len(p.Ops)
				owner[src].Op = len(p.Ops)
				p.Ops = append(p.Ops, ops[src])
			}
			p.Requests = append(p.Requests, batcher.Request{Body: r.Body, Ops: global})
			p.Waves = append(p.Waves, wave[idx[lo]])
		}
		lo = hi
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
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
