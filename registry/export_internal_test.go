package registry

// ReevaluationScope is reevaluationScope, for the tests.
var ReevaluationScope = reevaluationScope
