-- The deviation categories walkers report today, with a colour for the map and a default weight
-- for heat maps (how much one report of the kind counts). Admins may change them later.
INSERT INTO deviation_categories (code, name_sv, colour, weight, sort_order) VALUES
    ('skadegorelse',     'Skadegörelse',     '#d62728', 1.0, 10),
    ('narkotika',        'Narkotika',        '#9467bd', 1.5, 20),
    ('ungdomar_samlas',  'Ungdomar samlas',  '#ff7f0e', 1.0, 30),
    ('hot_vald',         'Hot/våld',         '#8b0000', 2.0, 40),
    ('trasig_belysning', 'Trasig belysning', '#bcbd22', 0.8, 50),
    ('nedskrapning',     'Nedskräpning',     '#8c564b', 0.5, 60),
    ('brand',            'Brand',            '#ff4500', 1.5, 70),
    ('otrygg_plats',     'Otrygg plats',     '#1f77b4', 1.0, 80),
    ('ovrigt',           'Övrigt',           '#7f7f7f', 0.5, 90);
