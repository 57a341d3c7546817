package httpapi

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/sessiond/sessiond/actors"
)

// formatTree renders the supervision tree as text, one line per actor,
// indented by two spaces per level, with the actor's details last:
//
//	root kind=root state=running restarts=0 pid=nonhost/$1
//	  sessions kind=supervisor state=running restarts=0 pid=nonhost/$2
func formatTree(root actors.TreeNode) string {
	var b strings.Builder
	writeTreeNode(&b, root, 0)
	return b.String()
}

func writeTreeNode(b *strings.Builder, node actors.TreeNode, depth int) {
	fmt.Fprintf(b, "%s%s kind=%s state=%s restarts=%d pid=%s",
		strings.Repeat("  ", depth),
		treeField(node.Name), treeField(node.Kind), treeField(node.State), node.Restarts, treeField(node.PID))
	// Details follow in key order, so the same tree prints the same text.
	keys := make([]string, 0, len(node.Detail))
	for key := range node.Detail {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		fmt.Fprintf(b, " %s=%s", treeField(key), treeField(fmt.Sprint(node.Detail[key])))
	}
	b.WriteByte('\n')
	for _, child := range node.Children {
		writeTreeNode(b, child, depth+1)
	}
}

// treeField writes "-" for an empty value and quotes a value with spaces,
// quotes or control characters, so that each node stays on one line with
// space-separated fields.
func treeField(value string) string {
	if value == "" {
		return "-"
	}
	if strings.ContainsFunc(value, func(r rune) bool {
		return unicode.IsSpace(r) || r == '"' || !unicode.IsPrint(r)
	}) {
		return strconv.Quote(value)
	}
	return value
}
