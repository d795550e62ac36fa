// Who the `github-token` is: the author of every issue the action opens, so the only author whose
// tracking issues it may adopt, comment on or close.
//
// - A user token (classic or fine-grained PAT, OAuth): GET /user names its account.
//   https://docs.github.com/rest/users/users#get-the-authenticated-user
// - An installation token (the job's GITHUB_TOKEN, a GitHub App's token): GET /user answers 403
//   "Resource not accessible by integration" (zerocracy/judges-action#637,
//   anthropics/claude-code-action#538), and GET /app needs the App's JWT, not an installation token.
//   The GraphQL `viewer` answers for installation tokens with the bot login `<app-slug>[bot]`
//   (fullsend-ai/fullsend#1953); for GITHUB_TOKEN that is `github-actions[bot]`, the author of
//   everything the job's token writes. When GraphQL is unavailable too, `github-actions[bot]` is
//   the one installation identity an Actions job has by default.
import type { GitHubClient } from './github-client.js'

export const ACTIONS_BOT_LOGIN = 'github-actions[bot]'

export interface TokenIdentity {
  login: string
  /** How it was learnt, for the log. */
  via: 'GET /user' | 'GraphQL viewer' | 'installation token default'
}

export async function tokenIdentity(
  octokit: GitHubClient,
  log: (message: string) => void = () => undefined
): Promise<TokenIdentity> {
  try {
    const { data } = await octokit.rest.users.getAuthenticated()
    return { login: data.login, via: 'GET /user' }
  } catch (error) {
    // 401, a rate limit and the like fail the step; only an installation token's 403 ("Resource
    // not accessible by integration") means "ask another way".
    const { status, message } = error as { status?: unknown; message?: unknown }
    if (status !== 403 || !/not accessible by integration/i.test(String(message))) throw error
  }
  try {
    const answer = await octokit.graphql<{ viewer?: { login?: unknown } }>(
      'query { viewer { login } }'
    )
    const login = answer.viewer?.login
    if (typeof login === 'string' && login !== '') return { login, via: 'GraphQL viewer' }
  } catch (error) {
    log(
      `GraphQL viewer did not name the github-token's identity (${(error as Error).message}); ` +
        `taking ${ACTIONS_BOT_LOGIN}, the author of what the job's GITHUB_TOKEN writes.`
    )
  }
  return { login: ACTIONS_BOT_LOGIN, via: 'installation token default' }
}
