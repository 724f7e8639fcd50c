package devops

import "time"

// Profile is Profiles – Get.
type Profile struct {
	ID           string `json:"id"`
	DisplayName  string `json:"displayName"`
	EmailAddress string `json:"emailAddress"`
	PublicAlias  string `json:"publicAlias"`
}

// Account is one organization from Accounts – List.
type Account struct {
	AccountID   string `json:"accountId"`
	AccountName string `json:"accountName"`
	AccountURI  string `json:"accountUri"`
}

// Project is Projects – List.
type Project struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Description    string    `json:"description"`
	State          string    `json:"state"`
	LastUpdateTime time.Time `json:"lastUpdateTime"`
}

// IdentityRef is the common identity shape.
type IdentityRef struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	UniqueName  string `json:"uniqueName"`
}

// Build is the subset of the Build schema the bot shows.
type Build struct {
	ID           int       `json:"id"`
	BuildNumber  string    `json:"buildNumber"`
	Status       string    `json:"status"` // notStarted, inProgress, completed, cancelling, postponed, none, all
	Result       string    `json:"result"` // succeeded, partiallySucceeded, failed, canceled, none
	QueueTime    time.Time `json:"queueTime"`
	StartTime    time.Time `json:"startTime"`
	FinishTime   time.Time `json:"finishTime"`
	SourceBranch string    `json:"sourceBranch"`
	Definition   struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"definition"`
	RequestedFor IdentityRef `json:"requestedFor"`
	RequestedBy  IdentityRef `json:"requestedBy"`
	Project      struct {
		Name string `json:"name"`
	} `json:"project"`
	Links struct {
		Web struct {
			Href string `json:"href"`
		} `json:"web"`
	} `json:"_links"`
}

// BuildListOptions filter Builds. Top 0 means 10.
type BuildListOptions struct {
	Top           int
	Branch        string // "main" or "refs/heads/main"
	DefinitionIDs []int
	StatusFilter  string // e.g. "inProgress"; running builds are ordered by queue time
	ResultFilter  string // e.g. "failed"
}

// WorkItem is the subset shown.
type WorkItem struct {
	ID          int
	Title       string
	Type        string
	State       string
	Project     string // System.TeamProject
	AssignedTo  string // display name
	ChangedDate time.Time
}

// WorkItemOptions for MyWorkItems. Top 0 means 10.
type WorkItemOptions struct {
	Top int
}

// Repository is Repositories – List.
type Repository struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	DefaultBranch string `json:"defaultBranch"`
	Size          int64  `json:"size"`
	WebURL        string `json:"webUrl"`
	Project       struct {
		Name string `json:"name"`
	} `json:"project"`
}

// Reviewer on a pull request; Vote: 10 approved, 5 approved with suggestions, 0 no vote,
// -5 waiting for author, -10 rejected.
type Reviewer struct {
	IdentityRef
	Vote       int  `json:"vote"`
	IsRequired bool `json:"isRequired"`
}

// PullRequest is Pull Requests – Get Pull Requests (subset).
type PullRequest struct {
	PullRequestID int         `json:"pullRequestId"`
	Title         string      `json:"title"`
	Status        string      `json:"status"`
	CreatedBy     IdentityRef `json:"createdBy"`
	CreationDate  time.Time   `json:"creationDate"`
	SourceRefName string      `json:"sourceRefName"`
	TargetRefName string      `json:"targetRefName"`
	IsDraft       bool        `json:"isDraft"`
	Reviewers     []Reviewer  `json:"reviewers"`
	Repository    struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Project struct {
			Name string `json:"name"`
		} `json:"project"`
	} `json:"repository"`
}

// PullRequestCriteria: exactly one of ReviewerID / CreatorID is set. Project "" means the whole org.
type PullRequestCriteria struct {
	ReviewerID string
	CreatorID  string
	Top        int
}
