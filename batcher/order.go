package batcher

// Node is what ordering needs to know about one operation.
type Node struct {
	Method         string   // "POST" creates EmployeeNumber
	EmployeeNumber string   // the employee the operation is about
	Refs           []string // employeeNumbers it references
	Last           bool     // sent after everything else (deactivations)
}

// Graph holds the references between operations of one run.
type Graph struct {
	// Deps[i] lists the creations (indexes of POST nodes) that operation i
	// must wait for. For a split operation the references are carried by its
	// reference patch, which waits for Deps[i] and for i itself.
	Deps [][]int32
	// Split[i] is true for a creation inside a reference cycle (including an
	// employee referencing itself): it is created without its references,
	// which a PATCH adds once everything it references exists.
	Split []bool
}

// Dependencies computes which operations wait for which creations.
// Operation i depends on operation j when j is the first POST of an employee
// that i references. References to employees not created in the run name
// users that already exist and impose no order. Cycles are found as strongly
// connected components (Tarjan) and every creation in one is split.
func Dependencies(nodes []Node) Graph {
	creator := make(map[string]int32, len(nodes))
	for i, n := range nodes {
		if n.Method == "POST" && n.EmployeeNumber != "" {
			if _, dup := creator[n.EmployeeNumber]; !dup {
				creator[n.EmployeeNumber] = int32(i)
			}
		}
	}
	g := Graph{Deps: make([][]int32, len(nodes)), Split: make([]bool, len(nodes))}
	for i, n := range nodes {
		for _, r := range n.Refs {
			j, ok := creator[r]
			if !ok {
				continue
			}
			if int(j) == i {
				g.Split[i] = true
				continue
			}
			dup := false
			for _, d := range g.Deps[i] {
				dup = dup || d == j
			}
			if !dup {
				g.Deps[i] = append(g.Deps[i], j)
			}
		}
	}
	for _, comp := range sccs(g.Deps) {
		if len(comp) > 1 {
			for _, v := range comp {
				g.Split[v] = true
			}
		}
	}
	return g
}

// sccs returns the strongly connected components of the graph (iterative
// Tarjan, so deep reference chains cannot overflow the stack).
func sccs(adj [][]int32) [][]int32 {
	n := len(adj)
	index := make([]int32, n)
	low := make([]int32, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var (
		stack []int32
		out   [][]int32
		next  int32
	)
	type frame struct{ v, edge int32 }
	for root := 0; root < n; root++ {
		if index[root] >= 0 || len(adj[root]) == 0 {
			continue
		}
		call := []frame{{v: int32(root)}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, int32(root))
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			v := f.v
			if int(f.edge) < len(adj[v]) {
				w := adj[v][f.edge]
				f.edge++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{v: w})
				} else if onStack[w] && index[w] < low[v] {
					low[v] = index[w]
				}
				continue
			}
			if low[v] == index[v] {
				var comp []int32
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				out = append(out, comp)
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				if low[v] < low[p] {
					low[p] = low[v]
				}
			}
		}
	}
	return out
}
