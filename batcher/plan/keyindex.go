package plan

import (
	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// keyView is the current entries of a keyed list with their key values
// found once and hashed: diffKeyed looks up each of n desired entries
// among n current ones (and whether the key is there twice), which by
// scanning with scim.Matches walks every entry's members n times over.
//
// A match is exactly a scim.Matches match: the key values are scim's
// (scim.KeyValue), and a candidate is confirmed with scim.LiteralEqual.
// The hash folds ASCII case; it covers the ASCII string keys and is asked
// for ASCII string literals only, which is exact because a string equal to
// an ASCII one under scim's folding (same byte length) is ASCII itself (a
// non-ASCII rune is longer than the ASCII letter it folds to, e.g. the
// Kelvin sign). Other lookups scan.
type keyView struct {
	arr  []scim.Value
	attr []string      // the key path when the key is one attribute; nil: scim.Matches
	keys []*scim.Value // per entry, its key value (nil: it has none)
	head []int32       // hash slot -> 1 + an entry hashed there (0: none)
	next []int32       // entry -> 1 + the next entry in its slot (0: none)
}

// view builds the key view of arr; its slices are the differ's, reused by
// the next view.
func (d *differ) view(arr []scim.Value, key []string) keyView {
	kv := keyView{arr: arr}
	if len(key) != 1 {
		return kv
	}
	kv.attr = keyPath(key[0])
	n := len(arr)
	slots := 8
	for slots < 2*n {
		slots *= 2
	}
	if d.keys == nil {
		d.keys, d.next, d.head = d.keys0[:0], d.next0[:0], d.head0[:0]
	}
	if cap(d.keys) < n {
		d.keys = make([]*scim.Value, 0, n)
		d.next = make([]int32, 0, n)
	}
	if cap(d.head) < slots {
		d.head = make([]int32, 0, slots)
	}
	kv.keys, kv.next, kv.head = d.keys[:n], d.next[:n], d.head[:slots]
	clear(kv.head)
	for i := range arr {
		k := scim.KeyValue(&arr[i], kv.attr)
		kv.keys[i], kv.next[i] = k, 0
		if k != nil && k.Kind == scim.String && isASCII(k.Str) {
			h := foldHash(k.Str) & uint32(slots-1)
			kv.next[i] = kv.head[h]
			kv.head[h] = int32(i) + 1
		}
	}
	return kv
}

// find returns the index of the first entry at or after from that eqs
// match, or -1.
func (kv *keyView) find(eqs []scimpath.Equality, from int) int {
	if kv.attr != nil && len(eqs) == 1 && sameNames(eqs[0].Attr, kv.attr) {
		lit := &eqs[0].Value
		if lit.Kind == scimpath.String && isASCII(lit.Str) {
			best := -1
			for j := kv.head[foldHash(lit.Str)&uint32(len(kv.head)-1)]; j != 0; j = kv.next[j-1] {
				i := int(j - 1)
				if i >= from && (best < 0 || i < best) && scim.LiteralEqual(kv.keys[i], lit) {
					best = i
				}
			}
			return best
		}
		for i := from; i < len(kv.keys); i++ {
			if k := kv.keys[i]; k != nil && scim.LiteralEqual(k, lit) {
				return i
			}
		}
		return -1
	}
	for i := from; i < len(kv.arr); i++ {
		if scim.Matches(kv.arr[i], eqs) {
			return i
		}
	}
	return -1
}

// unique reports whether entry i, matched by eqs, is the last entry eqs
// match (the key is unique in the list when i is the first match).
func (kv *keyView) unique(eqs []scimpath.Equality, i int) bool { return kv.find(eqs, i+1) < 0 }

// foldHash hashes an ASCII string with its letters' case folded (FNV-1a).
func foldHash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
