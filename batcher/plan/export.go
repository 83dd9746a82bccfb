package plan

import (
	"bufio"
	"context"
	"io"
	"strings"

	"scimigrate/batcher/client"
	"scimigrate/scim"
)

// ExportChunk is how many wanted employees Export looks up at a time.
const ExportChunk = 1000

// Export writes the state of the wanted employees (or, with all, of every
// user of the company) to w as snapshot lines (NDJSON, as Snapshot.Write
// writes them), as the pages arrive: a page of identities (or a chunk of
// wanted employees) gets its spend and travel profiles and is written
// before the next is read, so memory grows with a page, not with the
// company. Each user is written once. It returns the number written.
func (l *Live) Export(ctx context.Context, wants []Want, all bool, w io.Writer) (int, error) {
	return l.exportPaged(ctx, wants, all, true, w, ExportChunk)
}

// ExportState writes what a plan needs of the target, as Snapshot reads
// it, to w page by page: the wanted employees, or with all every user of
// the company, with the spend and travel profiles of the wanted ones only.
func (l *Live) ExportState(ctx context.Context, wants []Want, all bool, w io.Writer) (int, error) {
	return l.exportPaged(ctx, wants, all, false, w, ExportChunk)
}

func (l *Live) exportPaged(ctx context.Context, wants []Want, all, profilesOfAll bool, w io.Writer, chunk int) (int, error) {
	wantEmp, wantName := map[string]bool{}, map[string]bool{}
	if all && !profilesOfAll {
		for _, w := range wants {
			wantEmp[strings.ToLower(w.EmployeeNumber)] = true
			wantName[strings.ToLower(w.UserName)] = true
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	seen := map[string]bool{}
	n := 0
	var line []byte
	write := func(users []*Current) error {
		prof := users
		if all && !profilesOfAll {
			prof = nil
			for _, u := range users {
				if (u.EmployeeNumber != "" && wantEmp[strings.ToLower(u.EmployeeNumber)]) || (u.UserName != "" && wantName[strings.ToLower(u.UserName)]) {
					prof = append(prof, u)
				}
			}
		}
		if err := l.Profiles(ctx, prof); err != nil {
			return err
		}
		for _, u := range users {
			k := strings.ToLower(u.ID)
			if seen[k] {
				continue
			}
			seen[k] = true
			line = scim.AppendJSON(line[:0], u.Doc)
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return err
			}
			n++
		}
		return nil
	}
	if !all {
		for len(wants) > 0 {
			k := min(chunk, len(wants))
			users, err := l.Find(ctx, wants[:k])
			if err != nil {
				return n, err
			}
			if err := write(users); err != nil {
				return n, err
			}
			wants = wants[k:]
		}
		return n, bw.Flush()
	}
	err := l.Client.ListUsers(ctx, l.pageSize(), func(p client.Page) error {
		users, err := parsePage("GET "+IdentityV41Path, p, make([]*Current, 0, len(p.Resources)))
		if err != nil {
			return err
		}
		return write(users)
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}
