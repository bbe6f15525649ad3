-- One open application per applicant, person and product, enforced by the
-- database so that concurrent requests cannot open several.
CREATE UNIQUE INDEX applications_one_open
    ON applications (owner_index, identity_index, product)
    WHERE state NOT IN ('approved', 'rejected', 'withdrawn', 'expired');
