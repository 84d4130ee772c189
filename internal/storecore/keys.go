package storecore

import (
	"context"

	"credo"
)

// KeyPage is how many subject keys one page of AllSubjectKeys reads.
const KeyPage = 10000

// PageKeys calls fn for every subject key the pages give, in pseudonym
// order: page reads up to KeyPage keys with pseudonyms above after, in
// order ("after" is the last of the previous page, at first the caller's);
// a shorter page is the last. Each store keeps its own query.
func PageKeys(after string, page func(after string) ([]credo.SubjectKey, error), fn func(credo.SubjectKey) error) error {
	for {
		batch, err := page(after)
		if err != nil {
			return err
		}
		for _, k := range batch {
			if err := fn(k); err != nil {
				return err
			}
		}
		if len(batch) < KeyPage {
			return nil
		}
		after = batch[len(batch)-1].Pseudonym
	}
}

// SealInfo reads what a registry records about its sealing (the table
// seal_info: name, value).
func SealInfo(ctx context.Context, q Querier) (map[string]string, error) {
	rows, err := q.Query(ctx, "SELECT name, value FROM seal_info")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			return nil, err
		}
		out[n] = v
	}
	return out, rows.Err()
}
