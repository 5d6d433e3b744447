//! The diesel schema, one for both backends: only types that PostgreSQL and SQLite share.

diesel::table! {
    accounts (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        account_id -> BigInt,
        email -> Text,
        email_normalized -> Text,
        name -> Text,
        role -> Text,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        password_hash -> Nullable<Text>,
        totp_secret -> Nullable<Text>,
        totp_confirmed_at -> Nullable<Timestamp>,
        totp_last_step -> Nullable<BigInt>,
        failed_sign_ins -> Integer,
        locked_until -> Nullable<Timestamp>,
        role_id -> BigInt,
    }
}

diesel::table! {
    roles (id) {
        id -> BigInt,
        account_id -> BigInt,
        builtin -> Nullable<Text>,
        name -> Text,
        name_normalized -> Text,
        description -> Nullable<Text>,
        /// Scope names, space-separated; empty for a built-in role.
        rights -> Text,
        /// JSON: `[{record_type, field, access}]`.
        field_rules -> Text,
        visibility -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        account_id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        name -> Text,
        display_prefix -> Text,
        secret_digest -> Text,
        scopes -> Text,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    companies (id) {
        id -> BigInt,
        account_id -> BigInt,
        name -> Text,
        domain -> Nullable<Text>,
        website -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        industry -> Nullable<Text>,
        size_band -> Nullable<Text>,
        address -> Nullable<Text>,
        description -> Nullable<Text>,
        owner_id -> Nullable<BigInt>,
        tags -> Text,
        custom_fields -> Text,
        show_in_pipeline -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        pipeline_id -> Nullable<BigInt>,
        phase_id -> Nullable<BigInt>,
        relationship_status -> Text,
        outcome -> Nullable<Text>,
        outcome_reason -> Nullable<Text>,
        phase_entered_at -> Nullable<Timestamp>,
        follow_up_due_at -> Nullable<Timestamp>,
        last_activity_at -> Nullable<Timestamp>,
        next_activity_at -> Nullable<Timestamp>,
        /// The unit the record belongs to (`units`).
        unit_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    company_tags (company_id, tag) {
        company_id -> BigInt,
        account_id -> BigInt,
        tag -> Text,
    }
}

diesel::table! {
    contacts (id) {
        id -> BigInt,
        account_id -> BigInt,
        first_name -> Text,
        last_name -> Nullable<Text>,
        full_name -> Text,
        email -> Nullable<Text>,
        email_normalized -> Nullable<Text>,
        phone -> Nullable<Text>,
        job_title -> Nullable<Text>,
        company_id -> Nullable<BigInt>,
        reports_to_id -> Nullable<BigInt>,
        owner_id -> Nullable<BigInt>,
        tags -> Text,
        custom_fields -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_activity_at -> Nullable<Timestamp>,
        next_activity_at -> Nullable<Timestamp>,
        /// The unit the record belongs to (`units`).
        unit_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    contact_tags (contact_id, tag) {
        contact_id -> BigInt,
        account_id -> BigInt,
        tag -> Text,
    }
}

diesel::table! {
    pipelines (id) {
        id -> BigInt,
        account_id -> BigInt,
        name -> Text,
        record_type -> Text,
        is_default -> Bool,
        won_phase_id -> Nullable<BigInt>,
        lost_phase_id -> Nullable<BigInt>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    phases (id) {
        id -> BigInt,
        account_id -> BigInt,
        pipeline_id -> BigInt,
        name -> Text,
        position -> BigInt,
        status -> Text,
        follow_up_after_days -> Nullable<BigInt>,
        allowed_next -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        probability -> Nullable<BigInt>,
    }
}

diesel::table! {
    company_transitions (id) {
        id -> BigInt,
        account_id -> BigInt,
        company_id -> BigInt,
        from_pipeline_id -> Nullable<BigInt>,
        to_pipeline_id -> Nullable<BigInt>,
        from_phase_id -> Nullable<BigInt>,
        from_phase_name -> Nullable<Text>,
        to_phase_id -> Nullable<BigInt>,
        to_phase_name -> Nullable<Text>,
        from_status -> Text,
        to_status -> Text,
        outcome -> Nullable<Text>,
        reason -> Nullable<Text>,
        actor_user_id -> Nullable<BigInt>,
        actor_client_id -> Nullable<BigInt>,
        seconds_in_previous -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    token_origins (token_id, origin) {
        token_id -> BigInt,
        account_id -> BigInt,
        origin -> Text,
    }
}

diesel::table! {
    oauth_clients (id) {
        id -> BigInt,
        account_id -> BigInt,
        client_id -> Text,
        name -> Text,
        client_type -> Text,
        redirect_uris -> Text,
        grant_types -> Text,
        scopes -> Text,
        secret_digest -> Nullable<Text>,
        secret_prefix -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    signing_keys (id) {
        id -> BigInt,
        kid -> Text,
        algorithm -> Text,
        private_key -> Text,
        public_key -> Text,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    oauth_grants (id) {
        id -> BigInt,
        account_id -> BigInt,
        client_id -> BigInt,
        user_id -> Nullable<BigInt>,
        grant_type -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    authorization_requests (id) {
        id -> BigInt,
        account_id -> BigInt,
        client_id -> BigInt,
        csrf_digest -> Text,
        cookie_digest -> Text,
        redirect_uri -> Text,
        redirect_uri_given -> Bool,
        scopes -> Text,
        state -> Nullable<Text>,
        code_challenge -> Text,
        step -> Text,
        user_id -> Nullable<BigInt>,
        expires_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    authorization_codes (id) {
        id -> BigInt,
        code_digest -> Text,
        account_id -> BigInt,
        client_id -> BigInt,
        user_id -> BigInt,
        redirect_uri -> Text,
        redirect_uri_given -> Bool,
        scopes -> Text,
        code_challenge -> Text,
        grant_id -> Nullable<BigInt>,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    oauth_access_tokens (jti) {
        jti -> Text,
        grant_id -> BigInt,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    oauth_refresh_tokens (id) {
        id -> BigInt,
        grant_id -> BigInt,
        token_digest -> Text,
        scopes -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        account_id -> BigInt,
        #[sql_name = "type"]
        event_type -> Text,
        record_type -> Text,
        record_id -> BigInt,
        actor_user_id -> Nullable<BigInt>,
        actor_client_id -> Nullable<BigInt>,
        data -> Text,
        previous -> Nullable<Text>,
        occurred_at -> Timestamp,
        merged_ids -> Nullable<Text>,
        merged_into -> Nullable<BigInt>,
        position -> Nullable<BigInt>,
    }
}

diesel::table! {
    event_feed_head (id) {
        id -> Integer,
        position -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (account_id, token_digest, idempotency_key) {
        account_id -> BigInt,
        token_digest -> Text,
        idempotency_key -> Text,
        request_digest -> Text,
        run_id -> Text,
        locked_at -> Timestamp,
        expires_at -> Timestamp,
        response_status -> Nullable<Integer>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        account_id -> BigInt,
        target_url -> Text,
        events -> Text,
        description -> Nullable<Text>,
        /// Sealed under the operator key (`vault`).
        secret -> Text,
        active -> Bool,
        disabled_reason -> Nullable<Text>,
        disabled_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        /// The secret's first characters, to recognise it in a list.
        secret_prefix -> Text,
        /// The user who made it: deliveries show what their role may see.
        created_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        account_id -> BigInt,
        webhook_id -> BigInt,
        event_id -> BigInt,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        first_attempt_at -> Nullable<Timestamp>,
        last_attempt_at -> Nullable<Timestamp>,
        response_status -> Nullable<Integer>,
        latency_ms -> Nullable<BigInt>,
        error -> Nullable<Text>,
        created_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    projects (id) {
        id -> BigInt,
        account_id -> BigInt,
        name -> Text,
        description -> Nullable<Text>,
        company_id -> Nullable<BigInt>,
        owner_id -> Nullable<BigInt>,
        value_units -> Nullable<BigInt>,
        value_currency -> Nullable<Text>,
        probability -> Nullable<BigInt>,
        expected_start_date -> Nullable<Date>,
        expected_duration -> Nullable<Text>,
        expected_finish_date -> Nullable<Date>,
        proposal_received_date -> Nullable<Date>,
        proposal_due_date -> Nullable<Date>,
        start_date -> Nullable<Date>,
        end_date -> Nullable<Date>,
        won_at -> Nullable<Timestamp>,
        close_date -> Nullable<Date>,
        completed_date -> Nullable<Date>,
        tags -> Text,
        custom_fields -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        pipeline_id -> Nullable<BigInt>,
        phase_id -> Nullable<BigInt>,
        state -> Text,
        outcome -> Nullable<Text>,
        outcome_reason -> Nullable<Text>,
        phase_entered_at -> Nullable<Timestamp>,
        follow_up_due_at -> Nullable<Timestamp>,
        external_id -> Nullable<Text>,
        last_activity_at -> Nullable<Timestamp>,
        next_activity_at -> Nullable<Timestamp>,
        /// The unit the record belongs to (`units`).
        unit_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    project_tags (project_id, tag) {
        project_id -> BigInt,
        account_id -> BigInt,
        tag -> Text,
    }
}

diesel::table! {
    project_transitions (id) {
        id -> BigInt,
        account_id -> BigInt,
        project_id -> BigInt,
        from_pipeline_id -> Nullable<BigInt>,
        to_pipeline_id -> Nullable<BigInt>,
        from_phase_id -> Nullable<BigInt>,
        from_phase_name -> Nullable<Text>,
        to_phase_id -> Nullable<BigInt>,
        to_phase_name -> Nullable<Text>,
        from_status -> Text,
        to_status -> Text,
        outcome -> Nullable<Text>,
        reason -> Nullable<Text>,
        actor_user_id -> Nullable<BigInt>,
        actor_client_id -> Nullable<BigInt>,
        seconds_in_previous -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    record_links (owner_type, owner_id, record_type, record_id) {
        account_id -> BigInt,
        owner_type -> Text,
        owner_id -> BigInt,
        record_type -> Text,
        record_id -> BigInt,
    }
}

diesel::table! {
    tasks (id) {
        id -> BigInt,
        account_id -> BigInt,
        title -> Text,
        notes -> Nullable<Text>,
        due_date -> Nullable<Date>,
        due_at -> Nullable<Timestamp>,
        time_zone -> Nullable<Text>,
        priority -> Text,
        status -> Text,
        done_at -> Nullable<Timestamp>,
        done_by -> Nullable<BigInt>,
        assignee_ids -> Text,
        links -> Text,
        tags -> Text,
        created_by -> Nullable<BigInt>,
        due_event_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    task_assignees (task_id, user_id) {
        task_id -> BigInt,
        user_id -> BigInt,
        account_id -> BigInt,
        status -> Text,
        due_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    task_tags (task_id, tag) {
        task_id -> BigInt,
        account_id -> BigInt,
        tag -> Text,
    }
}

diesel::table! {
    meetings (id) {
        id -> BigInt,
        account_id -> BigInt,
        title -> Text,
        all_day -> Bool,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        start_date -> Nullable<Date>,
        end_date -> Nullable<Date>,
        time_zone -> Nullable<Text>,
        location -> Nullable<Text>,
        online_url -> Nullable<Text>,
        agenda -> Nullable<Text>,
        notes -> Nullable<Text>,
        organiser_id -> Nullable<BigInt>,
        attendees -> Text,
        links -> Text,
        tags -> Text,
        starting_event_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        start_passed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    meeting_attendees (meeting_id, attendee_type, attendee_id) {
        meeting_id -> BigInt,
        account_id -> BigInt,
        attendee_type -> Text,
        attendee_id -> BigInt,
        response -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
    }
}

diesel::table! {
    meeting_tags (meeting_id, tag) {
        meeting_id -> BigInt,
        account_id -> BigInt,
        tag -> Text,
    }
}

diesel::table! {
    posts (id) {
        id -> BigInt,
        account_id -> BigInt,
        author_id -> Nullable<BigInt>,
        body -> Text,
        pinned -> Bool,
        links -> Text,
        mention_ids -> Text,
        comment_count -> BigInt,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    comments (id) {
        id -> BigInt,
        account_id -> BigInt,
        post_id -> BigInt,
        author_id -> Nullable<BigInt>,
        body -> Text,
        mention_ids -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    mentions (owner_type, owner_id, user_id) {
        account_id -> BigInt,
        owner_type -> Text,
        owner_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    enquiries (id) {
        id -> BigInt,
        account_id -> BigInt,
        name -> Nullable<Text>,
        email -> Nullable<Text>,
        email_normalized -> Nullable<Text>,
        phone -> Nullable<Text>,
        company_name -> Nullable<Text>,
        subject -> Nullable<Text>,
        message -> Nullable<Text>,
        source -> Text,
        received_at -> Timestamp,
        assignee_id -> Nullable<BigInt>,
        status -> Text,
        close_reason -> Nullable<Text>,
        company_id -> Nullable<BigInt>,
        contact_id -> Nullable<BigInt>,
        project_id -> Nullable<BigInt>,
        converted_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(token_origins -> api_tokens (token_id));
diesel::joinable!(oauth_grants -> oauth_clients (client_id));
diesel::joinable!(oauth_grants -> accounts (account_id));
diesel::joinable!(oauth_grants -> users (user_id));
diesel::joinable!(oauth_access_tokens -> oauth_grants (grant_id));
diesel::joinable!(oauth_refresh_tokens -> oauth_grants (grant_id));
diesel::joinable!(users -> accounts (account_id));
diesel::joinable!(users -> roles (role_id));
diesel::joinable!(user_units -> units (unit_id));
diesel::joinable!(phases -> pipelines (pipeline_id));
diesel::joinable!(companies -> users (owner_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(company_tags -> companies (company_id));
diesel::joinable!(contact_tags -> contacts (contact_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_deliveries -> events (event_id));
diesel::joinable!(projects -> companies (company_id));
diesel::joinable!(project_contacts -> contacts (contact_id));
diesel::joinable!(project_members -> users (user_id));
diesel::joinable!(task_assignees -> tasks (task_id));

diesel::table! {
    /// Kept by triggers; PostgreSQL holds deltas (several rows per phase), SQLite one row.
    phase_counts (phase_id) {
        phase_id -> BigInt,
        records -> BigInt,
    }
}

diesel::table! {
    project_contacts (project_id, contact_id) {
        project_id -> BigInt,
        contact_id -> BigInt,
        account_id -> BigInt,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    project_members (project_id, user_id) {
        project_id -> BigInt,
        user_id -> BigInt,
        account_id -> BigInt,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    feed_items (id) {
        id -> BigInt,
        account_id -> BigInt,
        #[sql_name = "type"]
        event_type -> Text,
        record_type -> Text,
        record_id -> BigInt,
        subject_type -> Text,
        subject_id -> BigInt,
        actor_user_id -> Nullable<BigInt>,
        actor_client_id -> Nullable<BigInt>,
        data -> Text,
        previous -> Nullable<Text>,
        merged_ids -> Nullable<Text>,
        merged_into -> Nullable<BigInt>,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    subscriptions (user_id, record_type, record_id) {
        account_id -> BigInt,
        user_id -> BigInt,
        record_type -> Text,
        record_id -> BigInt,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    field_definitions (id) {
        id -> BigInt,
        account_id -> BigInt,
        record_type -> Text,
        key -> Text,
        label -> Text,
        description -> Nullable<Text>,
        group_name -> Nullable<Text>,
        field_type -> Text,
        options -> Text,
        required -> Bool,
        is_unique -> Bool,
        default_value -> Nullable<Text>,
        min_value -> Nullable<Text>,
        max_value -> Nullable<Text>,
        max_length -> Nullable<Integer>,
        pattern -> Nullable<Text>,
        target_record_type -> Nullable<Text>,
        currency -> Nullable<Text>,
        position -> Integer,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        computed -> Nullable<Text>,
    }
}

diesel::table! {
    /// The index of custom field values, kept by triggers (one row per scalar value; several
    /// per field for a multi-select). No key of its own: the one named here only serves the
    /// DSL.
    custom_values (account_id, record_type, record_id, field_key) {
        account_id -> BigInt,
        record_type -> Text,
        record_id -> BigInt,
        field_key -> Text,
        value_text -> Nullable<Text>,
        value_number -> Nullable<Double>,
    }
}

diesel::table! {
    views (id) {
        id -> BigInt,
        account_id -> BigInt,
        record_type -> Text,
        name -> Text,
        filter -> Nullable<Text>,
        sort -> Nullable<Text>,
        #[sql_name = "columns"]
        column_list -> Text,
        visibility -> Text,
        owner_id -> Nullable<BigInt>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    lists (id) {
        id -> BigInt,
        account_id -> BigInt,
        record_type -> Text,
        name -> Text,
        description -> Nullable<Text>,
        view_id -> Nullable<BigInt>,
        visibility -> Text,
        owner_id -> Nullable<BigInt>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    list_members (list_id, record_id) {
        account_id -> BigInt,
        list_id -> BigInt,
        record_type -> Text,
        record_id -> BigInt,
        added_by -> Nullable<BigInt>,
        added_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    units,
    user_units,
    views,
    lists,
    list_members,
    field_definitions,
    roles,
    accounts,
    phase_counts,
    users,
    api_tokens,
    companies,
    company_tags,
    contacts,
    contact_tags,
    pipelines,
    phases,
    company_transitions,
    token_origins,
    oauth_clients,
    signing_keys,
    oauth_grants,
    authorization_requests,
    authorization_codes,
    oauth_access_tokens,
    oauth_refresh_tokens,
    events,
    idempotency_keys,
    webhooks,
    webhook_deliveries,
    projects,
    project_tags,
    project_transitions,
    project_contacts,
    project_members,
    record_links,
    tasks,
    task_assignees,
    task_tags,
    meetings,
    meeting_attendees,
    meeting_tags,
    posts,
    comments,
    mentions,
    enquiries,
    feed_items,
    subscriptions,
    custom_values,
);

diesel::table! {
    units (id) {
        id -> BigInt,
        account_id -> BigInt,
        parent_id -> Nullable<BigInt>,
        name -> Text,
        name_normalized -> Text,
        kind -> Text,
        description -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_units (user_id, unit_id) {
        account_id -> BigInt,
        user_id -> BigInt,
        unit_id -> BigInt,
        is_primary -> Bool,
    }
}
