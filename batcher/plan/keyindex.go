package plan

import (
	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// keyView is the current entries of a keyed list with their key values
// found once: diffKeyed matches each of n desired entries against n
// current ones, and comparing a found key value with a literal is much
// cheaper than walking each entry's members for it (scim.Matches). The
// comparison is scim's (scim.KeyValue, scim.LiteralEqual), so a match is
// exactly a scim.Matches match.
type keyView struct {
	arr  []scim.Value
	attr []string      // the key path when the key is one attribute; nil: scim.Matches
	keys []*scim.Value // per entry, its key value (nil: it has none)
}

// view builds the key view of arr; its key slice is the differ's, reused
// by the next view.
func (d *differ) view(arr []scim.Value, key []string) keyView {
	kv := keyView{arr: arr}
	if len(key) != 1 {
		return kv
	}
	kv.attr = keyPath(key[0])
	if cap(d.keys) < len(arr) {
		d.keys = make([]*scim.Value, 0, max(len(arr), 32))
	}
	keys := d.keys[:0]
	for i := range arr {
		keys = append(keys, scim.KeyValue(&arr[i], kv.attr))
	}
	d.keys, kv.keys = keys, keys
	return kv
}

// find returns the index of the first entry at or after from that eqs
// match, or -1.
func (kv *keyView) find(eqs []scimpath.Equality, from int) int {
	if kv.attr != nil && len(eqs) == 1 && sameNames(eqs[0].Attr, kv.attr) {
		lit := &eqs[0].Value
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
