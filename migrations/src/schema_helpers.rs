//! Small builders the migrations share. Migrations that use them must keep producing the same schema,
//! so these are never changed once a migration using them has landed; a new shape is a new function.

use sea_orm_migration::prelude::*;

/// `fk_{from_table}_{column}`: `from_table.column` references `to_table.id`, deleted with it.
pub fn fk(from_table: &'static str, column: &'static str, to_table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from_table}_{column}"))
        .from(from_table, column)
        .to(to_table, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// `ix_{table}_{columns…}` over the columns in order.
pub fn index(table: &'static str, columns: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(format!("ix_{table}_{}", columns.join("_"))).table(table);
    for column in columns {
        statement.col(*column);
    }
    if unique {
        statement.unique();
    }
    statement.to_owned()
}
