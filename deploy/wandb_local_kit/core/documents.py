"""The GraphQL documents the kit sends, in one place: the same ones the SDK sends
(wandb.apis.public: Api._create_run, Run.upload_file, Files; wandb-core's
MarkRunFilesUploaded; sdk/verify's large-post and version checks), so health, client
and bench speak to the server the way a user's SDK does.
"""

VIEWER_QUERY = "query Viewer { viewer { id username email admin entity } }"
UPSERT_BUCKET = """
mutation UpsertBucket($project: String, $entity: String, $name: String!, $state: String) {
    upsertBucket(input: {modelName: $project, entityName: $entity, name: $name, state: $state}) {
        bucket { project { name entity { name } } id name }
        inserted
    }
}"""
CREATE_RUN_FILES = """
mutation CreateRunFiles($entity: String!, $project: String!, $run: String!,
                        $files: [String!]!) {
    createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run,
                           files: $files}) {
        runID
        uploadHeaders
        files { name uploadUrl }
    }
}"""
MARK_UPLOADED = """
mutation MarkRunFilesUploaded($entity: String!, $project: String!, $run: String!,
                              $files: [String!]!) {
    markRunFilesUploaded(input: {entityName: $entity, projectName: $project, runName: $run,
                                 files: $files}) {
        __typename
    }
}"""
RUN_FILES = """
query RunFiles($project: String!, $entity: String!, $name: String!, $fileNames: [String]) {
    project(name: $project, entityName: $entity) {
        run(name: $name) {
            files(names: $fileNames) { edges { node { name url directUrl sizeBytes } } }
        }
    }
}"""
DELETE_RUN = "mutation DeleteRun($id: ID!) { deleteRun(input: {id: $id}) { clientMutationId } }"
SERVER_INFO = """
query ServerInfo { serverInfo { cliVersionInfo latestLocalVersionInfo {
    outOfDate latestVersionString versionOnThisInstanceString } } }"""
FRONTEND_HOST = "query FrontendHost { serverInfo { frontendHost } }"
LARGE_POST = """
query Project($entity: String!, $name: String!, $runName: String!, $desc: String!){
    project(entityName: $entity, name: $name) {
        run(name: $runName, desc: $desc) { name summaryMetrics }
    }
}"""
