package fleet_test

import (
	"fmt"

	"github.com/holocast/holocast/fleet"
)

// A session placed by a gateway lives at a Location that names its node,
// so that a DELETE on it reaches that node through any gateway replica.
func ExampleSessionLocation() {
	fmt.Println(fleet.SessionLocation("node-7", "3f2a9c"))
	fmt.Println(fleet.SubjectDelete("node-7"))
	// Output:
	// /v1/sessions/node-7.3f2a9c
	// holocast.fleet.node.node-7.delete
}
