package devops

import (
	"fmt"
	"strings"
	"testing"
)

func BenchmarkDecodeBuilds(b *testing.B) {
	data := testdata(b, "builds.json")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var r listResponse[Build]
		if err := decodeAnswer(data, &r); err != nil || len(r.Value) != 50 {
			b.Fatal(err, len(r.Value))
		}
	}
}

func BenchmarkDecodeWorkItemsBatch(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"count":200,"value":[`)
	for i := 0; i < 200; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%d,"rev":3,"fields":{"System.Id":%d,"System.TeamProject":"Fabrikam-Fiber-Git","System.WorkItemType":"Task",`+
			`"System.State":"Active","System.AssignedTo":{"displayName":"Normal Paulk","url":"https://spsprodeus27.vssps.visualstudio.com/A1/_apis/Identities/d6245f20","_links":{"avatar":{"href":"https://dev.azure.com/fabrikam/_apis/GraphProfile/MemberAvatars/aad.x"}},"id":"d6245f20-2af8-44f4-9451-8107cb2767db","uniqueName":"fabrikamfiber16@hotmail.com","imageUrl":"https://dev.azure.com/fabrikam/_api/_common/identityImage?id=d6245f20","descriptor":"aad.ZDYyNDVmMjAtMmFmOC03NDRm"},`+
			`"System.ChangedDate":"2024-05-20T10:%02d:11.347Z","System.Title":"Implement sign-in with Microsoft Account, part %d"},"url":"https://dev.azure.com/fabrikam/_apis/wit/workItems/%d"}`,
			1000+i, 1000+i, i%60, i, 1000+i)
	}
	sb.WriteString("]}")
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var r listResponse[*batchItem]
		if err := decodeAnswer(data, &r); err != nil || len(r.Value) != 200 || r.Value[199].Fields.AssignedTo != "Normal Paulk" {
			b.Fatal(err)
		}
	}
}
