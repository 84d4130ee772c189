package policy

import (
	"fmt"
	"sort"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
)

// The variables a condition may use. Sanctions (deny, limit) may use only
// lists (principle 2).
const (
	VarLists   = "lists"   // list(string): ids of the lists the subject is on
	VarTiers   = "tiers"   // map(string, string): tier per scheme (absent when unscored)
	VarScores  = "scores"  // map(string, int): score per scheme (absent when unscored)
	VarSubject = "subject" // map(string, dyn): kind, age, region, province, sex
)

var declaredVars = []string{VarLists, VarTiers, VarScores, VarSubject}

type celEnv struct{ env *cel.Env }

func newEnv() (*celEnv, error) {
	env, err := cel.NewEnv(
		cel.Variable(VarLists, cel.ListType(cel.StringType)),
		cel.Variable(VarTiers, cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable(VarScores, cel.MapType(cel.StringType, cel.IntType)),
		cel.Variable(VarSubject, cel.MapType(cel.StringType, cel.DynType)),
	)
	if err != nil {
		return nil, err
	}
	return &celEnv{env: env}, nil
}

// compile compiles a condition and lints what it refers to: declared
// variables only, lists and schemes that exist, tier names the scheme has,
// and for sanctions no variable but lists. It returns the program and the
// ids of the lists the condition names.
func (c *checker) compile(e *celEnv, path, what, expr string, sanction bool) (cel.Program, []string) {
	checked, iss := e.env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		c.errorf(path, "%s: condition %q does not compile: %v", what, expr, iss.Err())
		return nil, nil
	}
	if !checked.OutputType().IsExactType(types.BoolType) {
		c.errorf(path, "%s: condition %q must be true or false, not %s", what, expr, checked.OutputType())
		return nil, nil
	}
	root := ast.NavigateAST(checked.NativeRep())
	used := map[string]bool{}
	for _, id := range ast.MatchDescendants(root, ast.KindMatcher(ast.IdentKind)) {
		used[id.AsIdent()] = true
	}
	if used[VarSubject] {
		c.p.usesSubject = true
	}
	if sanction {
		for _, v := range declaredVars {
			if v != VarLists && used[v] {
				c.errorf(path, "%s: a deny or limit may depend only on list membership, but the condition uses %s (principle 2: sanctions come from lists, never straight from a score)", what, v)
			}
		}
	}
	lists := map[string]bool{}
	for _, call := range ast.MatchDescendants(root, ast.KindMatcher(ast.CallKind)) {
		fn := call.AsCall()
		args := fn.Args()
		switch fn.FunctionName() {
		case "@in":
			if len(args) == 2 && isIdent(args[1], VarLists) {
				if s, ok := stringConst(args[0]); ok {
					if c.p.listByID[s] == nil {
						c.errorf(path, "%s: condition names undeclared list %q", what, s)
					}
					lists[s] = true
				} else if sanction {
					c.errorf(path, "%s: a sanction must name its lists literally (\"list-id\" in lists)", what)
				}
			}
		case "_==_", "_!=_":
			if len(args) == 2 {
				c.checkTierCompare(path, what, args[0], args[1])
				c.checkTierCompare(path, what, args[1], args[0])
			}
		}
		if len(args) == 2 && fn.FunctionName() == "@in" && args[1].Kind() == ast.ListKind {
			for _, el := range args[1].AsList().Elements() {
				c.checkTierCompare(path, what, args[0], el)
			}
		}
	}
	reported := map[string]bool{}
	for _, e := range ast.MatchDescendants(root, func(e ast.NavigableExpr) bool { _, ok := schemeRef(e); return ok }) {
		id, _ := schemeRef(e)
		if c.p.schemeByID[id] == nil && !reported[id] {
			reported[id] = true
			c.errorf(path, "%s: condition names undeclared scheme %q", what, id)
		}
	}
	if sanction && len(lists) == 0 {
		c.errorf(path, "%s: a deny or limit must be conditioned on a list (\"list-id\" in lists)", what)
	}
	prg, err := e.env.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		c.errorf(path, "%s: %v", what, err)
		return nil, nil
	}
	refs := make([]string, 0, len(lists))
	for l := range lists {
		refs = append(refs, l)
	}
	sort.Strings(refs)
	return prg, refs
}

// schemeRef returns the scheme a tiers or scores lookup names, written
// either tiers.civic or tiers["dog-licence"] (ids with '-' need the second).
func schemeRef(e ast.Expr) (string, bool) {
	switch e.Kind() {
	case ast.SelectKind:
		s := e.AsSelect()
		if isIdent(s.Operand(), VarTiers) || isIdent(s.Operand(), VarScores) {
			return s.FieldName(), true
		}
	case ast.CallKind:
		call := e.AsCall()
		if args := call.Args(); call.FunctionName() == "_[_]" && len(args) == 2 &&
			(isIdent(args[0], VarTiers) || isIdent(args[0], VarScores)) {
			return stringConst(args[1])
		}
	}
	return "", false
}

// tierRef returns the scheme of a tiers lookup (tiers.S or tiers["S"]).
func tierRef(e ast.Expr) (string, bool) {
	switch e.Kind() {
	case ast.SelectKind:
		if !isIdent(e.AsSelect().Operand(), VarTiers) {
			return "", false
		}
	case ast.CallKind:
		if args := e.AsCall().Args(); len(args) != 2 || !isIdent(args[0], VarTiers) {
			return "", false
		}
	}
	return schemeRef(e)
}

// checkTierCompare checks that `tiers.S == "T"`, `tiers["S"] != "T"` or
// `tiers.S in ["T", ...]` names a tier the scheme has.
func (c *checker) checkTierCompare(path, what string, sel, val ast.Expr) {
	id, ok := tierRef(sel)
	if !ok {
		return
	}
	sc := c.p.schemeByID[id]
	t, ok := stringConst(val)
	if sc == nil || !ok {
		return
	}
	for _, tier := range sc.Tiers {
		if tier.Name == t {
			return
		}
	}
	c.errorf(path, "%s: scheme %s has no tier %q", what, sc.ID, t)
}

func isIdent(e ast.Expr, name string) bool {
	return e.Kind() == ast.IdentKind && e.AsIdent() == name
}

func stringConst(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().Value().(string)
	return s, ok
}

// Vars are the values a condition is evaluated against.
type Vars struct {
	Lists   []string
	Tiers   map[string]string
	Scores  map[string]int64
	Subject map[string]any
}

// ResolveName implements interpreter.Activation.
func (v *Vars) ResolveName(name string) (any, bool) {
	switch name {
	case VarLists:
		return v.Lists, true
	case VarTiers:
		return v.Tiers, true
	case VarScores:
		return v.Scores, true
	case VarSubject:
		return v.Subject, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (v *Vars) Parent() interpreter.Activation { return nil }

// Eval evaluates a compiled condition. A condition that fails at run time
// (e.g. reads the tier of a scheme the subject is not scored in) is false:
// an effect needs a condition that holds.
func Eval(prg cel.Program, v *Vars) bool {
	if prg == nil {
		return false
	}
	out, _, err := prg.Eval(v)
	if err != nil {
		return false
	}
	b, ok := out.Value().(bool)
	return ok && b
}

// CompileCondition compiles a standalone condition against the policy's
// variables, for tools and benchmarks.
func CompileCondition(expr string) (cel.Program, error) {
	e, err := newEnv()
	if err != nil {
		return nil, err
	}
	checked, iss := e.env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("condition %q: %w", expr, iss.Err())
	}
	return e.env.Program(checked, cel.EvalOptions(cel.OptOptimize))
}
