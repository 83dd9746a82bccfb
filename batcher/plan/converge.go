package plan

import "scimigrate/scim"

// Converge returns the PATCH operations that make cur, a user as read from
// the target (identity with its profiles merged, see MergeProfiles), hold
// everything des supplies, des being a User document as it would be
// created: the planner's own comparison, with every value of des counted as
// supplied. It returns nothing when cur already holds des.
//
// The apply engine uses it when a creation's outcome is lost or the user
// turns out to exist already: it re-plans that user against its live state
// and sends only the difference.
func Converge(cur, des scim.Value) []scim.PatchOperation {
	if des.Kind != scim.ObjectKind || cur.Kind != scim.ObjectKind {
		return nil
	}
	df := &differ{all: true}
	if _, ok := cur.Obj.Get("entitlements"); ok {
		df.entKnow = true
	}
	df.diffDoc(cur, des)
	var ops []scim.PatchOperation
	for _, c := range df.out {
		ops = append(ops, c.Ops...)
	}
	return ops
}

// Holds reports whether cur holds everything des has: objects member by
// member (cur may have more, such as the id and display name the service
// adds to a reference it stores), lists element by element and of the same
// length, leaves equal (date-times as instants).
func Holds(cur, des scim.Value) bool { return covers(cur, des) }
