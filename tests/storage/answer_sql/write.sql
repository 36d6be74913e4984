WITH given AS 
(SELECT a.platform AS platform, a.workspace_id AS workspace_id, a.user_id AS user_id, a.name AS name, a.team_id AS team_id, a.occurrence_id AS occurrence_id, a.anonymous AS anonymous, a.values AS values, a.created_on AS created_on, a.updated_at AS updated_at, a.tag AS tag, a.sealed_at AS sealed_at, a.seen AS seen, a.member_seen AS member_seen 
FROM json_to_recordset(%(answers)s::JSON) AS a(platform VARCHAR, workspace_id VARCHAR, user_id VARCHAR, name VARCHAR, team_id BIGINT, occurrence_id BIGINT, anonymous BOOLEAN, values JSON, created_on DATE, updated_at TIMESTAMP WITH TIME ZONE, tag VARCHAR, sealed_at INTEGER, seen VARCHAR, member_seen BIGINT)), 
still_open AS 
(SELECT occurrences.id AS id, concat_ws(%(concat_ws_1)s::VARCHAR, CAST(occurrences.xmin AS VARCHAR), CAST(rituals.xmin AS VARCHAR), CAST(teams.xmin AS VARCHAR)) AS version 
FROM occurrences JOIN rituals ON rituals.id = occurrences.ritual_id JOIN teams ON teams.id = rituals.team_id 
WHERE occurrences.id IN (SELECT given.occurrence_id 
FROM given) AND occurrences.status = %(status_1)s::VARCHAR FOR SHARE OF occurrences), 
checked AS 
(SELECT given.platform AS platform, given.workspace_id AS workspace_id, given.user_id AS user_id, given.name AS name, given.team_id AS team_id, given.occurrence_id AS occurrence_id, given.anonymous AS anonymous, given.values AS values, given.created_on AS created_on, given.updated_at AS updated_at, given.tag AS tag, given.sealed_at AS sealed_at, given.seen AS seen, given.member_seen AS member_seen, anon_1.id AS found_id, anon_1.display_name AS found_name, given.seen IS NULL OR given.seen = still_open.version AND given.member_seen IS NOT DISTINCT FROM CASE WHEN (EXISTS (SELECT team_members.member_id 
FROM team_members 
WHERE team_members.member_id = anon_1.id AND team_members.team_id = given.team_id FOR KEY SHARE)) THEN anon_1.id END AS fresh 
FROM given JOIN still_open ON still_open.id = given.occurrence_id LEFT OUTER JOIN LATERAL (SELECT members.id AS id, members.display_name AS display_name 
FROM members 
WHERE members.platform = given.platform AND members.workspace_id = given.workspace_id AND members.user_id = given.user_id 
 LIMIT %(param_1)s::INTEGER) AS anon_1 ON true), 
answers AS 
(SELECT checked.platform AS platform, checked.workspace_id AS workspace_id, checked.user_id AS user_id, checked.name AS name, checked.team_id AS team_id, checked.occurrence_id AS occurrence_id, checked.anonymous AS anonymous, checked.values AS values, checked.created_on AS created_on, checked.updated_at AS updated_at, checked.tag AS tag, checked.sealed_at AS sealed_at, checked.seen AS seen, checked.member_seen AS member_seen, checked.found_id AS found_id, checked.found_name AS found_name, checked.fresh AS fresh 
FROM checked 
WHERE checked.fresh), 
known AS 
(SELECT answers.platform AS platform, answers.workspace_id AS workspace_id, answers.user_id AS user_id, max(answers.name) AS name, max(answers.found_id) AS id, max(answers.found_name) AS display_name 
FROM answers GROUP BY answers.platform, answers.workspace_id, answers.user_id), 
renamed AS 
(UPDATE members SET display_name=known.name FROM known WHERE members.id = known.id AND known.name != %(name_1)s::VARCHAR AND members.display_name != known.name RETURNING members.id), 
created AS 
(INSERT INTO members (platform, workspace_id, user_id, display_name, created_at, mute_reminders) SELECT known.platform AS platform, known.workspace_id AS workspace_id, known.user_id AS user_id, known.name AS name, %(now)s::TIMESTAMP WITH TIME ZONE AS anon_2, false AS anon_3 
FROM known 
WHERE known.id IS NULL ORDER BY known.platform, known.workspace_id, known.user_id ON CONFLICT DO NOTHING RETURNING members.id, members.platform, members.workspace_id, members.user_id), 
ids AS 
(SELECT known.platform AS platform, known.workspace_id AS workspace_id, known.user_id AS user_id, coalesce(known.id, created.id) AS member_id 
FROM known LEFT OUTER JOIN created ON created.platform = known.platform AND created.workspace_id = known.workspace_id AND created.user_id = known.user_id), 
rows AS 
(SELECT answers.platform AS platform, answers.workspace_id AS workspace_id, answers.user_id AS user_id, answers.name AS name, answers.team_id AS team_id, answers.occurrence_id AS occurrence_id, answers.anonymous AS anonymous, answers.values AS values, answers.created_on AS created_on, answers.updated_at AS updated_at, answers.tag AS tag, answers.sealed_at AS sealed_at, answers.seen AS seen, answers.member_seen AS member_seen, answers.found_id AS found_id, answers.found_name AS found_name, answers.fresh AS fresh, ids.member_id AS member_id 
FROM answers JOIN ids ON ids.platform = answers.platform AND ids.workspace_id = answers.workspace_id AND ids.user_id = answers.user_id), 
joined AS 
(INSERT INTO team_members (team_id, member_id) SELECT DISTINCT rows.team_id AS team_id, rows.member_id AS member_id 
FROM rows 
WHERE rows.member_id IS NOT NULL ORDER BY rows.team_id, rows.member_id ON CONFLICT DO NOTHING RETURNING team_members.member_id), 
named AS 
(INSERT INTO replies (id, occurrence_id, member_id, team_id, values, created_on, updated_at) SELECT CAST(gen_random_uuid() AS VARCHAR) AS gen_random_uuid_1, rows.occurrence_id AS occurrence_id, rows.member_id AS member_id, rows.team_id AS team_id, rows.values AS values, rows.created_on AS created_on, rows.updated_at AS updated_at 
FROM rows 
WHERE rows.anonymous IS false AND rows.member_id IS NOT NULL ORDER BY rows.occurrence_id, rows.member_id ON CONFLICT (occurrence_id, member_id) DO UPDATE SET values = excluded.values, updated_at = excluded.updated_at WHERE replies.updated_at IS NULL OR replies.updated_at <= excluded.updated_at RETURNING replies.occurrence_id), 
took_part AS 
(INSERT INTO participations (occurrence_id, member_id) SELECT rows.occurrence_id AS occurrence_id, rows.member_id AS member_id 
FROM rows 
WHERE rows.anonymous IS true AND rows.member_id IS NOT NULL ORDER BY rows.occurrence_id, rows.member_id ON CONFLICT DO NOTHING RETURNING participations.occurrence_id, participations.member_id), 
anonymous AS 
(INSERT INTO sealed_answers (occurrence_id, tag, sealed) SELECT rows.occurrence_id AS occurrence_id, rows.tag AS tag, s.sealed AS sealed 
FROM rows JOIN took_part ON took_part.occurrence_id = rows.occurrence_id AND took_part.member_id = rows.member_id JOIN unnest(%(sealed)s::BYTEA[]) WITH ORDINALITY AS s(sealed, place) ON s.place = rows.sealed_at ORDER BY rows.occurrence_id, rows.tag RETURNING sealed_answers.occurrence_id)
 SELECT checked.platform, checked.workspace_id, checked.user_id, checked.occurrence_id, rows.member_id, took_part.member_id IS NOT NULL AS anon_4, checked.fresh 
FROM checked LEFT OUTER JOIN rows ON rows.platform = checked.platform AND rows.workspace_id = checked.workspace_id AND rows.user_id = checked.user_id AND rows.occurrence_id = checked.occurrence_id LEFT OUTER JOIN took_part ON took_part.occurrence_id = rows.occurrence_id AND took_part.member_id = rows.member_id
