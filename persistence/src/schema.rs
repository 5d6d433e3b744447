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
    }
}

diesel::table! {
    contact_tags (contact_id, tag) {
        contact_id -> BigInt,
        account_id -> BigInt,
        tag -> Text,
    }
}

diesel::joinable!(users -> accounts (account_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(company_tags -> companies (company_id));
diesel::joinable!(contact_tags -> contacts (contact_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    users,
    api_tokens,
    companies,
    company_tags,
    contacts,
    contact_tags,
);
