package policy

import (
	"fmt"
	"sort"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
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

// The cost bounds of conditions, in CEL cost units (about one per
// elementary operation: a comparison, a list element visited, a byte of a
// string compared). Policies are written by people, drafts are sent by
// anyone with the admin or auditor role, and every condition runs for
// every subject: a condition whose worst case, estimated by cel-go's
// checker from the sizes the variables can have under the policy (lists:
// at most as many ids as the policy declares lists; tiers and scores: one
// entry per scheme; subject: a handful of short attributes), exceeds
// MaxConditionCost is refused, and so is a policy whose conditions
// together exceed MaxPolicyCost. Programs also carry MaxConditionCost as
// a runtime limit (cel.CostLimit): an evaluation that would exceed it
// stops and the condition is false. Real conditions cost tens of units.
const (
	MaxConditionCost = 10_000
	MaxPolicyCost    = 100_000
)

// sizeEstimator tells cel-go's cost estimator how large the variables can
// be under a policy.
type sizeEstimator struct {
	lists, schemes, idLen uint64
}

func (e sizeEstimator) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	p := n.Path()
	if len(p) == 0 {
		return nil
	}
	size := func(max uint64) *cost.SizeEstimate { s := cost.RangedSizeEstimate(0, max); return &s }
	switch p[0] {
	case VarLists:
		if len(p) == 1 {
			return size(e.lists)
		}
		return size(e.idLen)
	case VarTiers, VarScores:
		if len(p) == 1 {
			return size(e.schemes)
		}
		return size(e.idLen)
	case VarSubject:
		if len(p) == 1 {
			return size(8)
		}
		return size(64)
	}
	return nil
}

func (sizeEstimator) EstimateCallCost(function, overloadID string, target *cost.AstNode, args []cost.AstNode) *cost.CallEstimate {
	return nil
}

func (c *checker) sizes() sizeEstimator {
	e := sizeEstimator{lists: uint64(len(c.p.Lists)), schemes: uint64(len(c.p.Schemes)), idLen: 1}
	grow := func(s string) { e.idLen = max(e.idLen, uint64(len(s))) }
	for _, l := range c.p.Lists {
		grow(l.ID)
	}
	for _, sc := range c.p.Schemes {
		grow(sc.ID)
		for _, t := range sc.Tiers {
			grow(t.Name)
		}
	}
	return e
}

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

// condition is what compile learns of a condition.
type condition struct {
	prg cel.Program
	// lists are the ids of the lists the condition names.
	lists []string
	// schemes are the schemes whose tier or score the condition reads;
	// anyScheme: it reads tiers or scores in a way that names none.
	schemes   []string
	anyScheme bool
}

// compile compiles a condition and lints what it refers to: declared
// variables only, lists and schemes that exist, tier names the scheme has,
// for sanctions no variable but lists, and a worst-case cost within
// MaxConditionCost.
func (c *checker) compile(e *celEnv, path, what, expr string, sanction bool) condition {
	checked, ok := c.compileBounded(e, path, what, expr)
	if !ok {
		return condition{}
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
	lists := c.lintCalls(root, path, what, sanction)
	var cond condition
	cond.schemes = c.schemesNamed(root, path, what)
	cond.anyScheme = (used[VarTiers] || used[VarScores]) && len(cond.schemes) == 0
	if sanction && len(lists) == 0 {
		c.errorf(path, "%s: a deny or limit must be conditioned on a list (\"list-id\" in lists)", what)
	}
	prg, err := e.env.Program(checked, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(MaxConditionCost))
	if err != nil {
		c.errorf(path, "%s: %v", what, err)
		return condition{}
	}
	cond.prg = prg
	cond.lists = make([]string, 0, len(lists))
	for l := range lists {
		cond.lists = append(cond.lists, l)
	}
	sort.Strings(cond.lists)
	return cond
}

// compileBounded compiles a condition that must be true or false and cost
// at most MaxConditionCost, and adds its cost to the policy's.
func (c *checker) compileBounded(e *celEnv, path, what, expr string) (*cel.Ast, bool) {
	checked, iss := e.env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		c.errorf(path, "%s: condition %q does not compile: %v", what, expr, iss.Err())
		return nil, false
	}
	if !checked.OutputType().IsExactType(types.BoolType) {
		c.errorf(path, "%s: condition %q must be true or false, not %s", what, expr, checked.OutputType())
		return nil, false
	}
	est, err := e.env.EstimateCost(checked, c.sizes())
	switch {
	case err != nil:
		c.errorf(path, "%s: the cost of condition %q cannot be estimated: %v", what, expr, err)
		return nil, false
	case est.Max > MaxConditionCost:
		c.errorf(path, "%s: condition %q may cost up to %d units to evaluate, more than the %d allowed for one condition (it runs for every subject): simplify it", what, expr, est.Max, MaxConditionCost)
		return nil, false
	}
	c.cost += est.Max
	return checked, true
}

// lintCalls checks the lists a condition names ("id" in lists: declared;
// literal in a sanction) and the tiers it compares with, and returns the
// lists it names.
func (c *checker) lintCalls(root ast.NavigableExpr, path, what string, sanction bool) map[string]bool {
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
	return lists
}

// schemesNamed returns the schemes a condition names, sorted, reporting
// each undeclared one once.
func (c *checker) schemesNamed(root ast.NavigableExpr, path, what string) []string {
	reported := map[string]bool{}
	var schemes []string
	for _, e := range ast.MatchDescendants(root, func(e ast.NavigableExpr) bool { _, ok := schemeRef(e); return ok }) {
		id, _ := schemeRef(e)
		if c.p.schemeByID[id] == nil && !reported[id] {
			reported[id] = true
			c.errorf(path, "%s: condition names undeclared scheme %q", what, id)
		}
		if !contains(schemes, id) {
			schemes = append(schemes, id)
		}
	}
	sort.Strings(schemes)
	return schemes
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
	return e.env.Program(checked, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(MaxConditionCost))
}
