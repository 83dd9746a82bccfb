package main

import (
	"io"

	"scimigrate/mapping"
)

var showTable = func(w io.Writer, t *mapping.Table) error { return nil }
