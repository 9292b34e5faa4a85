// Command modelops-gitops answers, for the tests, what GitOps tools would say about a ModelDeployment,
// using those tools' OWN code rather than our reading of their docs:
//
//	modelops-gitops kstatus             kstatus' verdict (sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute:
//	                                    what Flux `wait`/`healthChecks`, `kubectl wait`-style readers and
//	                                    kpt use) for each object read as JSON on stdin
//	modelops-gitops lua-health SCRIPT   an Argo CD resource health check (Lua) run by gopher-lua, the
//	                                    interpreter Argo CD embeds, set up the way Argo CD sets it up
//
// stdin holds one JSON object or a JSON array of objects; stdout gets one JSON object per input
// ({"status": ..., "message": ...}) as a JSON array when the input was an array. Batching keeps a test
// over every phase to a single process start.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: modelops-gitops kstatus | lua-health SCRIPT  (objects as JSON on stdin)")
	}
	objects, batch := readObjects(os.Stdin)
	var judge func(map[string]interface{}) verdict
	switch os.Args[1] {
	case "kstatus":
		judge = kstatusVerdict
	case "lua-health":
		if len(os.Args) != 3 {
			fail("usage: modelops-gitops lua-health SCRIPT")
		}
		script, err := os.ReadFile(os.Args[2])
		if err != nil {
			fail(err.Error())
		}
		judge = func(obj map[string]interface{}) verdict { return luaHealth(string(script), obj) }
	default:
		fail("unknown command " + os.Args[1])
	}
	verdicts := make([]verdict, 0, len(objects))
	for _, obj := range objects {
		verdicts = append(verdicts, judge(obj))
	}
	var out interface{} = verdicts
	if !batch {
		out = verdicts[0]
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err.Error())
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "modelops-gitops: "+message)
	os.Exit(2)
}

// readObjects decodes as the API machinery does (unstructured's JSON scheme keeps integers int64, which
// kstatus' NestedInt64 look-ups of generation and observedGeneration require).
func readObjects(r io.Reader) ([]map[string]interface{}, bool) {
	data, err := io.ReadAll(r)
	if err != nil {
		fail(err.Error())
	}
	data = bytes.TrimSpace(data)
	batch := len(data) > 0 && data[0] == '['
	raws := []json.RawMessage{data}
	if batch {
		if err := json.Unmarshal(data, &raws); err != nil {
			fail("stdin: " + err.Error())
		}
	}
	objects := make([]map[string]interface{}, 0, len(raws))
	for i, raw := range raws {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			fail(fmt.Sprintf("stdin object %d: %v", i, err))
		}
		objects = append(objects, u.Object)
	}
	if len(objects) == 0 {
		fail("stdin: no object")
	}
	return objects, batch
}

// kstatusVerdict is kstatus' own Compute: Current, InProgress, Failed, Terminating or Unknown.
func kstatusVerdict(obj map[string]interface{}) verdict {
	result, err := status.Compute(&unstructured.Unstructured{Object: obj})
	if err != nil {
		return verdict{Status: "Error", Message: err.Error()}
	}
	return verdict{Status: string(result.Status), Message: result.Message}
}

// luaHealth runs a health script as Argo CD's util/lua (VM.runLua / ExecuteHealthLua) does: the
// standard libraries are NOT opened (SkipOpenLibs) except package, base and table, the object is a
// global `obj`, the run is bounded by a one-second context, and the returned table's status must be
// one of Argo CD's health codes or the result is Unknown ("Lua returned an invalid health status").
func luaHealth(script string, obj map[string]interface{}) verdict {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true},
			lua.LString(lib.name)); err != nil {
			return verdict{Status: "Error", Message: err.Error()}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return verdict{Status: "Error", Message: err.Error()}
	}
	table, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return verdict{Status: "Error", Message: "expect table output from Lua script, not " + l.Get(-1).Type().String()}
	}
	result := verdict{Status: lua.LVAsString(table.RawGetString("status")),
		Message: lua.LVAsString(table.RawGetString("message"))}
	switch result.Status {
	case "Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown":
		return result
	}
	return verdict{Status: "Unknown", Message: "Lua returned an invalid health status"}
}

// toLua mirrors Argo CD's decodeValue: maps become tables with string keys, lists become 1-based
// array tables, JSON numbers become Lua numbers, null becomes nil.
func toLua(l *lua.LState, value interface{}) lua.LValue {
	switch v := value.(type) {
	case map[string]interface{}:
		table := l.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetString(key, toLua(l, item))
		}
		return table
	case []interface{}:
		table := l.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(toLua(l, item))
		}
		return table
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case nil:
		return lua.LNil
	}
	return lua.LString(fmt.Sprint(value))
}
